import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, In } from 'typeorm';
import { AuthPrincipal, isStaff } from '../../common/auth';
import { AppError, invalidField } from '../../common/errors';
import { HttpStatus } from '@nestjs/common';
import { Page, paginate } from '../../common/pagination';
import { conversionsRepository } from '../conversions/conversions.repository';
import { OutboxService } from '../../queue/outbox/outbox.service';
import { availableKey, LedgerService } from '../ledger/ledger.service';
import { bonusClawbackLines, bonusLines, LEDGER_KINDS } from '../ledger/ledger.postings';
import { OffersService } from '../offers/offers.service';
import { Bonus, BonusAward } from './bonus.entities';
import { CreateBonusDto, ListAwardsQueryDto } from './dto/bonus.dto';

/** One affiliate's standing on one bonus in one period. */
interface AwardKey {
  bonus: Bonus;
  affiliateId: string;
  timezone: string;
  /** A time inside the period. */
  at: Date;
}

export type AwardOutcome = 'earned' | 'clawed_back' | null;

/**
 * Bonus programs and what affiliates earn of them. An award is decided in a transaction of its
 * own per (bonus, affiliate, period), serialised by an advisory lock taken first (then, in the
 * ledger's lock order, the affiliate's accounts and the others): reaching the threshold of
 * approved conversions writes the award and posts `bonus`; falling back under it (reversals in
 * the same period) marks it clawed back and posts `bonus_clawback`. Each is posted once (the
 * ledger's (cause, kind) key), so running it again, or concurrently, changes nothing.
 */
@Injectable()
export class BonusesService {
  private readonly logger = new Logger(BonusesService.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly offers: OffersService,
    private readonly ledger: LedgerService,
    private readonly outbox: OutboxService,
  ) {}

  async create(actor: AuthPrincipal, offerId: string, dto: CreateBonusDto): Promise<Bonus> {
    return this.dataSource.transaction(async (manager) => {
      const owned = await this.offers.findOwned(manager, actor, offerId, false);
      const offer = await this.offers.load(manager, owned.id);
      if (dto.goal !== undefined && !offer.goals.some((g) => g.key === dto.goal))
        throw invalidField('goal', `names no goal of the offer (${offer.goals.map((g) => g.key).join(', ')})`);
      const bonus = manager.create(Bonus, {
        offerId: offer.id,
        advertiserId: offer.advertiserId,
        name: dto.name,
        goalKey: dto.goal ?? null,
        metric: dto.metric,
        threshold: dto.threshold,
        period: dto.period,
        amount: dto.amount,
        currency: offer.currency,
        createdBy: actor.id,
      });
      return manager.save(Bonus, bonus);
    });
  }

  /** The bonus programs of an offer the actor can see (404 otherwise). */
  async list(actor: AuthPrincipal, offerId: string): Promise<Bonus[]> {
    const { offer } = await this.offers.getVisible(actor, offerId);
    return this.dataSource.getRepository(Bonus).find({ where: { offerId: offer.id }, order: { createdAt: 'ASC', id: 'ASC' } });
  }

  /** Earned bonuses, newest first: affiliates their own, advertisers those of their offers, staff all. */
  awards(actor: AuthPrincipal, query: ListAwardsQueryDto): Promise<Page<BonusAward>> {
    const qb = this.dataSource.getRepository(BonusAward).createQueryBuilder('a');
    if (actor.role === 'affiliate') qb.andWhere('a.affiliate_id = :me', { me: actor.id });
    else if (actor.role === 'advertiser') qb.andWhere('a.advertiser_id = :me', { me: actor.id });
    else if (!isStaff(actor)) throw new AppError('forbidden', HttpStatus.FORBIDDEN, 'Not allowed');
    if (query.affiliateId && actor.role !== 'affiliate') qb.andWhere('a.affiliate_id = :affiliateId', { affiliateId: query.affiliateId.toLowerCase() });
    if (query.offerId) qb.andWhere('a.offer_id = :offerId', { offerId: query.offerId.toLowerCase() });
    if (query.status) qb.andWhere('a.status = :status', { status: query.status });
    return paginate(qb, 'a', query);
  }

  /**
   * Decides the awards these conversions may have changed: each (bonus, affiliate, period) of
   * their offers' bonus programs. Run after their status changed (the commissions job).
   */
  async evaluate(conversionIds: string[]): Promise<void> {
    if (!conversionIds.length) return;
    const facts = await conversionsRepository.bonusFacts(this.dataSource.manager, conversionIds);
    if (!facts.length) return;
    const bonuses = await this.dataSource.getRepository(Bonus).find({ where: { offerId: In([...new Set(facts.map((f) => f.offer_id))]) } });
    if (!bonuses.length) return;
    const timezones = new Map<string, string>();
    const keys = new Map<string, AwardKey>();
    for (const fact of facts) {
      for (const bonus of bonuses) {
        if (bonus.offerId !== fact.offer_id || (bonus.goalKey !== null && bonus.goalKey !== fact.goal_key)) continue;
        if (!timezones.has(bonus.offerId)) timezones.set(bonus.offerId, (await this.offers.load(this.dataSource.manager, bonus.offerId)).timezone);
        const timezone = timezones.get(bonus.offerId) as string;
        const at = new Date(fact.at);
        const period = bonus.period === 'all_time' ? 'all_time' : monthOf(at, timezone);
        keys.set(`${bonus.id}|${fact.affiliate_id}|${period}`, { bonus, affiliateId: fact.affiliate_id, timezone, at });
      }
    }
    for (const key of keys.values()) await this.decide(key);
  }

  /** Earns or claws back one award as the approved volume now says; answers what changed. */
  async decide({ bonus, affiliateId, timezone, at }: AwardKey): Promise<AwardOutcome> {
    const outcome = await this.dataSource.transaction(async (manager) => {
      const range = bonus.period === 'all_time' ? { period: 'all_time', from: null, to: null } : await monthRange(manager, at, timezone);
      await manager.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [`bonus|${bonus.id}|${affiliateId}|${range.period}`]);
      const volume = await conversionsRepository.approvedVolume(manager, { offerId: bonus.offerId, affiliateId, goalKey: bonus.goalKey, from: range.from, to: range.to });
      const reached = (bonus.metric === 'saleAmount' ? volume.saleAmount : volume.conversions) >= bonus.threshold;
      const award = await manager.findOne(BonusAward, { where: { bonusId: bonus.id, affiliateId, period: range.period }, lock: { mode: 'pessimistic_write' } });
      const party = { affiliateId, advertiserId: bonus.advertiserId, currency: bonus.currency };
      if (reached && !award) {
        const created = await manager.save(
          BonusAward,
          manager.create(BonusAward, { ...party, bonusId: bonus.id, offerId: bonus.offerId, period: range.period, amount: bonus.amount, status: 'earned' }),
        );
        await this.ledger.post(manager, {
          kind: LEDGER_KINDS.bonus,
          causeType: 'bonus_award',
          causeId: created.id,
          memo: `${bonus.name} ${range.period}`,
          lines: bonusLines(party, bonus.amount),
        });
        return 'earned' as const;
      }
      if (!reached && award?.status === 'earned') {
        const available = await this.ledger.lockAffiliateAccounts(manager, [affiliateId], bonus.currency);
        const lines = bonusClawbackLines(party, award.amount, available.get(availableKey(affiliateId, bonus.currency)) ?? 0);
        await this.ledger.post(manager, {
          kind: LEDGER_KINDS.bonusClawback,
          causeType: 'bonus_award',
          causeId: award.id,
          memo: `${bonus.name} ${range.period}: back under the threshold`,
          lines,
        });
        await manager.update(BonusAward, { id: award.id }, { status: 'clawed_back', clawedBackAt: new Date() });
        // Billed already: billing credits it on that invoice (a draft's, once issued).
        if (award.invoiceId) await this.outbox.enqueue(manager, 'invoice.bonus_clawed_back', award.id);
        return 'clawed_back' as const;
      }
      return null;
    });
    if (outcome) this.logger.log(`bonus ${bonus.id} ${outcome} by affiliate ${affiliateId}`);
    return outcome;
  }
}

/** The calendar month of `timezone` holding `at`: its key (YYYY-MM) and bounds. */
async function monthRange(manager: EntityManager, at: Date, timezone: string): Promise<{ period: string; from: Date; to: Date }> {
  const [row] = await manager.query(
    `SELECT to_char($1::timestamptz AT TIME ZONE $2, 'YYYY-MM') AS period, date_trunc('month', $1::timestamptz, $2) AS "from",
            ((date_trunc('month', $1::timestamptz, $2) AT TIME ZONE $2) + interval '1 month') AT TIME ZONE $2 AS "to"`,
    [at, timezone],
  );
  return { period: row.period, from: new Date(row.from), to: new Date(row.to) };
}

/** YYYY-MM of `at` in `timezone`. */
export function monthOf(at: Date, timezone: string): string {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone: timezone, year: 'numeric', month: '2-digit' }).formatToParts(at);
  return `${parts.find((p) => p.type === 'year')?.value}-${parts.find((p) => p.type === 'month')?.value}`;
}
