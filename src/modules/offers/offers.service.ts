import { updateReturning } from '../../database/sql';
import { HttpStatus, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Brackets, DataSource, EntityManager, In, IsNull } from 'typeorm';
import { AuthPrincipal, isStaff } from '../../common/auth';
import { ChangeEvents } from '../../common/events/change-events';
import { AppError, ForbiddenError, invalidField } from '../../common/errors';
import { Page, paginate } from '../../common/pagination';
import { principalsRepository } from '../principals/principals.repository';
import { ApplyDto, CreateOfferDto, GoalDto, ListOffersQueryDto, UpdateOfferDto } from './dto/offer.dto';
import { normalizeRule } from '../rules';
import { checkGoals } from './goal-rules';
import { GoalPayoutOverride } from './goal-payout-override.entity';
import { AccessStatus, OfferAccess } from './offer-access.entity';
import { OfferGoal } from './offer-goal.entity';
import { Offer } from './offer.entity';
import { DEFAULT_QUALITY_POLICY, QualityPolicy } from '../../common/risk/risk';
import { OffersError } from './offers.errors';

export interface OfferWithAccess {
  offer: Offer;
  access?: AccessStatus | 'none';
}

@Injectable()
export class OffersService {
  private readonly logger = new Logger(OffersService.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly changes: ChangeEvents,
  ) {}

  async create(actor: AuthPrincipal, dto: CreateOfferDto): Promise<Offer> {
    const advertiserId = await this.resolveOwner(actor, dto.advertiserId);
    await this.checkTimezone(dto.timezone);
    return this.dataSource.transaction(async (manager) => {
      await this.checkGoalSet(manager, dto.goals);
      const offer = await manager.save(
        manager.create(Offer, {
          advertiserId,
          name: dto.name,
          description: dto.description ?? null,
          landingUrl: dto.landingUrl,
          fallbackUrl: dto.fallbackUrl ?? null,
          currency: dto.currency,
          status: dto.status ?? 'active',
          visibility: dto.visibility ?? 'public',
          attributionWindowDays: dto.attributionWindowDays ?? 30,
          lockPeriodDays: dto.lockPeriodDays ?? 30,
          attributionPriority: dto.attributionPriority ?? 'coupon_first',
          minClickToConversionSeconds: dto.minClickToConversionSeconds ?? 0,
          caps: { ...(dto.caps ?? {}) },
          timezone: dto.timezone ?? 'UTC',
          pixelAmounts: dto.pixelAmounts ?? false,
          quality: qualityPolicy(DEFAULT_QUALITY_POLICY, dto.quality),
        }),
      );
      await this.replaceGoals(manager, offer.id, dto.goals);
      this.logger.log(`offer ${offer.id} created for advertiser ${advertiserId}`);
      return this.load(manager, offer.id);
    });
  }

  async update(actor: AuthPrincipal, id: string, dto: UpdateOfferDto): Promise<Offer> {
    await this.checkTimezone(dto.timezone);
    const updated = await this.dataSource.transaction(async (manager) => {
      const offer = await this.findOwned(manager, actor, id, true);
      if (dto.goals) await this.checkGoalSet(manager, dto.goals);
      const { goals, caps, quality, ...fields } = dto;
      Object.assign(offer, fields);
      // A status set by hand is the advertiser's own decision, not the funds'.
      if (dto.status !== undefined) offer.pausedReason = null;
      if (caps !== undefined) offer.caps = { ...caps };
      if (quality !== undefined) offer.quality = qualityPolicy(offer.quality, quality);
      await manager.save(Offer, offer);
      if (goals) await this.replaceGoals(manager, offer.id, goals);
      return this.load(manager, offer.id);
    });
    this.changes.emit('offer', id);
    return updated;
  }

  /**
   * Pauses (`paused_reason: funds`) the active offers of a prepaid advertiser in `currency`
   * whose funds ran out, or resumes the ones so paused; answers the offers changed. Clicks on a
   * paused offer go to its fallback URL; its conversions still count (they wait for funds).
   */
  async setFundsPause(advertiserId: string, currency: string, paused: boolean): Promise<string[]> {
    const rows: { id: string }[] = await updateReturning(
      this.dataSource,
      paused
        ? `UPDATE offers SET status = 'paused', paused_reason = 'funds', updated_at = now() WHERE advertiser_id = $1 AND currency = $2 AND status = 'active' RETURNING id`
        : `UPDATE offers SET status = 'active', paused_reason = NULL, updated_at = now() WHERE advertiser_id = $1 AND currency = $2 AND status = 'paused' AND paused_reason = 'funds' RETURNING id`,
      [advertiserId, currency],
    );
    for (const { id } of rows) this.changes.emit('offer', id);
    return rows.map((r) => r.id);
  }

  /** The currencies of an advertiser's offers. */
  async currenciesOf(advertiserId: string): Promise<string[]> {
    const rows: { currency: string }[] = await this.dataSource.query(`SELECT DISTINCT currency FROM offers WHERE advertiser_id = $1 ORDER BY 1`, [advertiserId]);
    return rows.map((r) => r.currency);
  }

  /** An offer as `actor` may see it; anything else is a 404, never a hint that it exists. */
  async getVisible(actor: AuthPrincipal, id: string): Promise<OfferWithAccess> {
    const qb = this.dataSource.getRepository(Offer).createQueryBuilder('o').where('o.id = :id', { id });
    this.scopeQuery(qb, actor);
    const offer = await qb.getOne();
    if (!offer) throw OffersError.notFound();
    const full = await this.load(this.dataSource.manager, offer.id);
    return { offer: full, access: actor.role === 'affiliate' ? await this.accessOf(offer, actor.id) : undefined };
  }

  async list(actor: AuthPrincipal, query: ListOffersQueryDto): Promise<Page<OfferWithAccess>> {
    const qb = this.dataSource.getRepository(Offer).createQueryBuilder('o');
    this.scopeQuery(qb, actor);
    if (query.status) qb.andWhere('o.status = :status', { status: query.status });
    if (query.advertiserId && isStaff(actor)) qb.andWhere('o.advertiser_id = :adv', { adv: query.advertiserId });
    const page = await paginate(qb, 'o', query);
    const ids = page.data.map((o) => o.id);
    const goals = ids.length
      ? await this.dataSource.getRepository(OfferGoal).find({ where: { offerId: In(ids), archivedAt: IsNull() }, relations: { overrides: true }, order: { createdAt: 'ASC' } })
      : [];
    const access =
      actor.role === 'affiliate' && ids.length
        ? new Map((await this.dataSource.getRepository(OfferAccess).findBy({ offerId: In(ids), affiliateId: actor.id })).map((a) => [a.offerId, a.status]))
        : new Map<string, AccessStatus>();
    return {
      nextCursor: page.nextCursor,
      data: page.data.map((offer) => {
        offer.goals = goals.filter((g) => g.offerId === offer.id);
        return { offer, access: actor.role === 'affiliate' ? (offer.visibility === 'public' ? 'approved' : (access.get(offer.id) ?? 'none')) : undefined };
      }),
    };
  }

  async apply(actor: AuthPrincipal, offerId: string, dto: ApplyDto): Promise<OfferAccess> {
    const { offer } = await this.getVisible(actor, offerId);
    if (offer.visibility === 'public') throw OffersError.noApplicationNeeded();
    if (offer.status === 'archived') throw OffersError.archived();
    // Only a rejected application is re-opened; a pending or approved one stays as it is.
    await this.dataSource.query(
      `INSERT INTO offer_access (offer_id, affiliate_id, status, note) VALUES ($1, $2, 'pending', $3)
       ON CONFLICT (offer_id, affiliate_id) DO UPDATE SET status = 'pending', note = EXCLUDED.note, decided_at = NULL, decided_by = NULL, updated_at = now()
       WHERE offer_access.status = 'rejected'`,
      [offerId, actor.id, dto.note ?? null],
    );
    return this.dataSource.getRepository(OfferAccess).findOneByOrFail({ offerId, affiliateId: actor.id });
  }

  async listApplications(actor: AuthPrincipal, offerId: string, status?: AccessStatus): Promise<OfferAccess[]> {
    const offer = await this.findOwned(this.dataSource.manager, actor, offerId, false);
    return this.dataSource.getRepository(OfferAccess).find({ where: { offerId: offer.id, ...(status ? { status } : {}) }, order: { createdAt: 'DESC' } });
  }

  async decide(actor: AuthPrincipal, offerId: string, affiliateId: string, status: 'approved' | 'rejected', note?: string): Promise<OfferAccess> {
    return this.dataSource.transaction(async (manager) => {
      const offer = await this.findOwned(manager, actor, offerId, false);
      let access = await manager.findOne(OfferAccess, { where: { offerId, affiliateId }, lock: { mode: 'pessimistic_write' } });
      if (!access) {
        // Without an application, only an admin may grant (or refuse) access: the way into private offers.
        if (actor.role !== 'admin') throw OffersError.applicationNotFound();
        if (!(await principalsRepository.exists(manager, affiliateId, 'affiliate'))) throw new AppError('affiliate_not_found', HttpStatus.NOT_FOUND, 'No such affiliate');
        access = manager.create(OfferAccess, { offerId: offer.id, affiliateId, status, note: note ?? null });
      }
      access.status = status;
      if (note !== undefined) access.note = note;
      access.decidedBy = actor.id;
      access.decidedAt = new Date();
      return manager.save(OfferAccess, access);
    });
  }

  /** Whether an affiliate may run an offer: public, or approved (applied to or granted). */
  async accessOf(offer: Pick<Offer, 'id' | 'visibility'>, affiliateId: string): Promise<AccessStatus | 'none'> {
    if (offer.visibility === 'public') return 'approved';
    const row = await this.dataSource.getRepository(OfferAccess).findOneBy({ offerId: offer.id, affiliateId });
    return row?.status ?? 'none';
  }

  /** Offers an actor may change: their own for advertisers, any for admins; 404 otherwise. */
  async findOwned(manager: EntityManager, actor: AuthPrincipal, id: string, lock: boolean): Promise<Offer> {
    if (actor.role !== 'admin' && actor.role !== 'advertiser') throw new ForbiddenError();
    const offer = await manager.findOne(Offer, {
      where: { id, ...(actor.role === 'advertiser' ? { advertiserId: actor.id } : {}) },
      ...(lock ? { lock: { mode: 'pessimistic_write' as const } } : {}),
    });
    if (!offer) throw OffersError.notFound();
    return offer;
  }

  async load(manager: EntityManager, id: string): Promise<Offer> {
    const offer = await manager.findOneOrFail(Offer, { where: { id } });
    offer.goals = await manager.find(OfferGoal, { where: { offerId: id, archivedAt: IsNull() }, relations: { overrides: true }, order: { createdAt: 'ASC' } });
    return offer;
  }

  private scopeQuery(qb: ReturnType<DataSource['createQueryBuilder']>, actor: AuthPrincipal): void {
    if (actor.role === 'advertiser') qb.andWhere('o.advertiser_id = :me', { me: actor.id });
    if (actor.role === 'affiliate') {
      qb.andWhere("o.status <> 'archived'").andWhere(
        new Brackets((w) =>
          w
            .where("o.visibility IN ('public', 'approval_required')")
            .orWhere("EXISTS (SELECT 1 FROM offer_access a WHERE a.offer_id = o.id AND a.affiliate_id = :me AND a.status = 'approved')", { me: actor.id }),
        ),
      );
    }
  }

  private async resolveOwner(actor: AuthPrincipal, advertiserId: string | undefined): Promise<string> {
    if (actor.role === 'advertiser') {
      if (advertiserId && advertiserId !== actor.id) throw invalidField('advertiserId', 'an advertiser creates offers for itself only', 'field_not_allowed');
      return actor.id;
    }
    if (!advertiserId) throw invalidField('advertiserId', 'is required when an admin creates an offer');
    if (!(await principalsRepository.exists(this.dataSource.manager, advertiserId, 'advertiser'))) throw invalidField('advertiserId', 'names no advertiser');
    return advertiserId;
  }

  /** Caps count days in PostgreSQL, whose zone data may lag Node's (which the DTO checked). */
  private async checkTimezone(timezone: string | undefined): Promise<void> {
    if (timezone === undefined) return;
    try {
      await this.dataSource.query('SELECT now() AT TIME ZONE $1', [timezone]);
    } catch (error) {
      if ((error as { code?: string }).code === '22023') throw invalidField('timezone', `"${timezone}" is not a time zone the database knows`);
      throw error;
    }
  }

  private async checkGoalSet(manager: EntityManager, goals: GoalDto[]): Promise<void> {
    const rules = goals.map((g) => ({
      key: g.key,
      revenue: normalizeRule(g.revenue),
      payout: normalizeRule(g.payout),
      overrides: g.overrides?.map((o) => ({ affiliateId: o.affiliateId.toLowerCase(), payout: normalizeRule(o.payout) })),
    }));
    const problems = checkGoals(rules);
    const affiliateIds = [...new Set(rules.flatMap((g) => g.overrides?.map((o) => o.affiliateId) ?? []))];
    if (affiliateIds.length) {
      const found = await principalsRepository.existingIds(manager, affiliateIds, 'affiliate');
      rules.forEach((g, i) =>
        g.overrides?.forEach((o, j) => {
          if (!found.has(o.affiliateId)) problems.push({ field: `goals.${i}.overrides.${j}.affiliateId`, message: 'names no affiliate' });
        }),
      );
    }
    if (problems.length) throw OffersError.invalidGoals(problems);
  }

  /** Upserts goals by key, archives the ones left out, and replaces each goal's overrides. */
  private async replaceGoals(manager: EntityManager, offerId: string, goals: GoalDto[]): Promise<void> {
    const current = await manager.find(OfferGoal, { where: { offerId } });
    const byKey = new Map(current.map((g) => [g.key, g]));
    for (const input of goals) {
      const goal = byKey.get(input.key) ?? manager.create(OfferGoal, { offerId, key: input.key });
      goal.name = input.name ?? null;
      goal.revenue = normalizeRule(input.revenue);
      goal.payout = normalizeRule(input.payout);
      // Left out: kept as it was (an editor that does not show it does not erase it); null: not recurring.
      if (input.recurring !== undefined) goal.recurring = input.recurring ? { months: input.recurring.months ?? null } : null;
      goal.recurring ??= null;
      goal.archivedAt = null;
      const saved = await manager.save(OfferGoal, goal);
      await manager.delete(GoalPayoutOverride, { goalId: saved.id });
      if (input.overrides?.length) {
        await manager.insert(
          GoalPayoutOverride,
          input.overrides.map((o) => ({ goalId: saved.id, affiliateId: o.affiliateId.toLowerCase(), payout: normalizeRule(o.payout) })),
        );
      }
    }
    const kept = new Set(goals.map((g) => g.key));
    const gone = current.filter((g) => !kept.has(g.key) && !g.archivedAt).map((g) => g.id);
    if (gone.length) await manager.update(OfferGoal, { id: In(gone) }, { archivedAt: new Date() });
  }
}

/** The policy with the fields `change` gives (null turns one off); the others kept. */
function qualityPolicy(current: QualityPolicy, change: Partial<QualityPolicy> | undefined): QualityPolicy {
  const merged = { ...DEFAULT_QUALITY_POLICY, ...current };
  return {
    holdAbove: change?.holdAbove !== undefined ? change.holdAbove : merged.holdAbove,
    rejectAbove: change?.rejectAbove !== undefined ? change.rejectAbove : merged.rejectAbove,
  };
}
