import { HttpStatus, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { createHash } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import { AuthPrincipal, isStaff } from '../../common/auth';
import { AppError, invalidField } from '../../common/errors';
import { Page, paginate } from '../../common/pagination';
import { principalsRepository } from '../principals/principals.repository';
import { Adjustment } from './adjustment.entity';
import { CreateAdjustmentDto, IDEMPOTENCY_KEY, ListAdjustmentsQueryDto } from './dto/adjustment.dto';
import { LedgerError } from './ledger.errors';
import { adjustmentLines, LEDGER_KINDS } from './ledger.postings';
import { availableKey, LedgerService } from './ledger.service';

/**
 * Finance's manual corrections of an affiliate's available balance. Each is posted against the
 * network_adjustments account (not network_margin: the margin stays what results earned, and
 * what goodwill credits and corrections cost reads off one account), in the transaction that
 * records it; a debit beyond what is available puts the rest on affiliate_clawback.
 */
@Injectable()
export class AdjustmentsService {
  private readonly logger = new Logger(AdjustmentsService.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly ledger: LedgerService,
  ) {}

  /**
   * Records and posts one adjustment. Idempotent by the client's id or by the actor's
   * Idempotency-Key: a repeat of the same request answers the first adjustment (`created:
   * false`), the same key for another request is a 409, and nothing is posted twice.
   */
  async create(actor: AuthPrincipal, dto: CreateAdjustmentDto, idempotencyKey?: string): Promise<{ adjustment: Adjustment; created: boolean }> {
    if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) throw invalidField('Idempotency-Key', 'must be 1 to 255 visible ASCII characters');
    const affiliateId = dto.affiliateId.toLowerCase();
    const id = dto.id?.toLowerCase() ?? null;
    const requestHash = requestHashOf({ affiliateId, currency: dto.currency, amount: dto.amount, reason: dto.reason });
    const repeat = () => this.findRepeat(actor, id, idempotencyKey ?? null, requestHash);
    const earlier = await repeat();
    if (earlier) return { adjustment: earlier, created: false };
    if (!(await principalsRepository.exists(this.dataSource.manager, affiliateId, 'affiliate'))) throw LedgerError.affiliateNotFound();

    const adjustment = await this.dataSource.transaction((manager) =>
      this.postIn(manager, actor.id, { id, affiliateId, currency: dto.currency, amount: dto.amount, reason: dto.reason }, { idempotencyKey: idempotencyKey ?? null, requestHash }),
    );
    if (!adjustment) {
      const twin = await repeat();
      if (!twin) throw new Error('adjustment vanished after a unique conflict');
      return { adjustment: twin, created: false };
    }
    this.logger.log(`adjustment ${adjustment.id}: ${adjustment.amount} ${adjustment.currency} for affiliate ${affiliateId} by ${actor.id}`);
    return { adjustment, created: true };
  }

  /**
   * Records and posts one adjustment in the caller's transaction (after the caller's conversion
   * locks: affiliate accounts come next in the lock order); null when its id or key was taken
   * already, by a twin that committed first or this same adjustment earlier. `createdBy` is a
   * principal: the actor, or what caused it (an advertiser's Stripe refund).
   */
  async postIn(
    manager: EntityManager,
    createdBy: string,
    input: { id: string | null; affiliateId: string; currency: string; amount: number; reason: string },
    key: { idempotencyKey: string | null; requestHash: string } = { idempotencyKey: null, requestHash: requestHashOf(input) },
  ): Promise<Adjustment | null> {
    const { id, affiliateId, currency, amount, reason } = input;
    // ON CONFLICT covers a concurrent twin (same id, or same actor and key): it waits for the
    // first to commit and then writes nothing.
    const [row]: { id: string }[] = await manager.query(
      `INSERT INTO adjustments (id, affiliate_id, currency, amount, reason, idempotency_key, request_hash, created_by)
       VALUES (coalesce($1::uuid, gen_random_uuid()), $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING RETURNING id`,
      [id, affiliateId, currency, amount, reason, key.idempotencyKey, key.requestHash, createdBy],
    );
    if (!row) return null;
    const available = await this.ledger.lockAffiliateAccounts(manager, [affiliateId], currency);
    const lines = adjustmentLines({ affiliateId, currency }, amount, available.get(availableKey(affiliateId, currency)) ?? 0);
    await this.ledger.post(manager, { kind: LEDGER_KINDS.adjustment, causeType: 'adjustment', causeId: row.id, memo: reason, createdBy, lines });
    const clawback = lines.filter((l) => l.account.type === 'affiliate_clawback').reduce((sum, l) => sum + l.amount, 0);
    if (clawback) await manager.update(Adjustment, { id: row.id }, { clawback });
    return manager.findOneByOrFail(Adjustment, { id: row.id });
  }

  async list(actor: AuthPrincipal, query: ListAdjustmentsQueryDto): Promise<Page<Adjustment>> {
    const qb = this.dataSource.getRepository(Adjustment).createQueryBuilder('a');
    const affiliateId = this.scope(actor, query.affiliateId);
    if (affiliateId) qb.andWhere('a.affiliate_id = :affiliateId', { affiliateId });
    if (query.currency) qb.andWhere('a.currency = :currency', { currency: query.currency });
    return paginate(qb, 'a', query);
  }

  async get(actor: AuthPrincipal, id: string): Promise<Adjustment> {
    const found = await this.dataSource.getRepository(Adjustment).findOneBy({ id, ...(isStaff(actor) ? {} : { affiliateId: actor.id }) });
    if (!found) throw notFound();
    return found;
  }

  /** Whose adjustments `actor` may list: staff anyone's (or all), an affiliate its own (another's id: 404). */
  private scope(actor: AuthPrincipal, requested: string | undefined): string | undefined {
    if (isStaff(actor)) return requested?.toLowerCase();
    if (requested && requested.toLowerCase() !== actor.id) throw LedgerError.affiliateNotFound();
    return actor.id;
  }

  private async findRepeat(actor: AuthPrincipal, id: string | null, key: string | null, requestHash: string): Promise<Adjustment | null> {
    if (!id && !key) return null;
    const repo = this.dataSource.getRepository(Adjustment);
    const found = id ? await repo.findOneBy({ id }) : await repo.findOneBy({ createdBy: actor.id, idempotencyKey: key as string });
    if (found && found.requestHash !== requestHash) {
      throw new AppError('idempotency_key_reused', HttpStatus.CONFLICT, 'This id or Idempotency-Key was used for another adjustment; use a new one');
    }
    return found;
  }
}

/** What a repeat of an adjustment must match: the same affiliate, currency, amount and reason. */
function requestHashOf(a: { affiliateId: string; currency: string; amount: number; reason: string }): string {
  return createHash('sha256')
    .update(JSON.stringify([a.affiliateId, a.currency, a.amount, a.reason]))
    .digest('hex');
}

function notFound(): AppError {
  return new AppError('adjustment_not_found', HttpStatus.NOT_FOUND, 'No such adjustment');
}
