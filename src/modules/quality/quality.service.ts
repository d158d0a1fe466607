import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { countryTable } from '../../common/geo/countries';
import { asnTable } from '../../common/risk/asn';
import { scoreClickBatch } from '../../common/risk/click-signals';
import { qualityDecision, Risk, riskOf, RiskReason } from '../../common/risk/risk';
import { IntakeDraft, IntakeRiskScorer } from '../conversions/conversion-risk';
import { conversionsRepository } from '../conversions/conversions.repository';
import { Offer } from '../offers/offer.entity';
import { ClickBuffer } from '../tracking/click-buffer';
import { markClickFloods } from '../tracking/click-floods';
import { couponLeak, duplicateCustomer, fastConversion, geoMismatch, RateFacts, selfReferral, subAnomaly } from './conversion-signals';
import { GroupCommit } from '../../common/batching/group-commit';
import { CheckFacts, checkFacts, IntakeFacts, intakeFactsMany, IntakeQuery, subRates, uncheckedConversions } from './quality-facts';

const CHECK_BATCH = 500;
/** Floods are counted over the last hour's clicks: a scan of that hour, so at most once a minute. */
const FLOODS_EVERY_MS = 60_000;

/**
 * Scores conversions (README, "Traffic quality"). At intake, from what one statement finds (the
 * click's stored risk, the customer, the affiliate's own addresses) plus the timing and the
 * countries; the conversions service applies the offer's policy to that score. The quality job
 * then completes each conversion with what needs counting (floods over many batches, sub-id
 * rates, coupon uses) and holds for review a pending one whose completed score reaches the
 * policy: the job never rejects on its own, a person decides.
 */
@Injectable()
export class QualityService implements IntakeRiskScorer {
  private readonly logger = new Logger(QualityService.name);
  private floodsMarkedAt = 0;
  /** The intake facts of concurrent conversions are read by one statement (up to 32 at once). */
  private readonly intakeReads = new GroupCommit<IntakeQuery, IntakeFacts>((queries) => intakeFactsMany(this.dataSource.manager, queries), { maxBatch: 32, concurrency: 3 });

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly clicks: ClickBuffer,
  ) {}

  async intake(draft: IntakeDraft, offer: Offer, at: Date): Promise<Risk> {
    const facts = await this.intakeReads.submit({
      clickId: draft.clickedAt ? draft.clickId : null,
      clickedAt: draft.clickedAt,
      advertiserId: draft.advertiserId,
      affiliateId: draft.affiliateId as string,
      customerId: draft.customerId,
      customerIp: draft.source === 'pixel' ? draft.ip : null,
    });
    const countries = await countryTable();
    let click = facts.click ? { reasons: facts.click.reasons, country: facts.click.country } : null;
    if (!click && draft.clickId && draft.clickedAt) {
      // Not written yet: still in this process's click buffer; scored as its batch will be.
      const buffered = this.clicks.findBuffered(draft.clickId);
      if (buffered) {
        const [risk] = scoreClickBatch([buffered], await asnTable());
        click = { reasons: risk.reasons, country: buffered.country ?? (buffered.ip && countries ? countries.country(buffered.ip) : null) };
      }
    }
    const customerCountry = draft.source === 'pixel' && draft.ip && countries ? countries.country(draft.ip) : null;
    return riskOf(click?.reasons, [
      fastConversion(draft.clickedAt, at, offer.minClickToConversionSeconds),
      geoMismatch(click?.country ?? null, customerCountry),
      duplicateCustomer(facts.otherAffiliates),
      selfReferral({ ip: facts.ipMatch, email: facts.emailMatch }),
    ]);
  }

  /** Marks the floods of the last hour on its clicks (README, "Traffic quality"); answers how many clicks it marked. */
  async markFloods(): Promise<number> {
    this.floodsMarkedAt = Date.now();
    return markClickFloods(this.dataSource.manager);
  }

  /**
   * The quality job: marks click floods (at most once a minute), then completes the scores of the
   * conversions not checked yet, oldest first, in batches; answers what it did.
   */
  async checkPending(maxBatches = 20): Promise<{ floodedClicks: number; checked: number; held: number; toReject: string[] }> {
    const floodedClicks = Date.now() - this.floodsMarkedAt >= FLOODS_EVERY_MS ? await this.markFloods() : 0;
    let checked = 0;
    let held = 0;
    const toReject: string[] = [];
    // Sub-id rates over 30 days hardly move within one run: read once per (offer, affiliate, sub id).
    const rates = new Map<string, RateFacts | null>();
    for (let i = 0; i < maxBatches; i++) {
      const ids = await uncheckedConversions(this.dataSource.manager, CHECK_BATCH);
      if (ids.length === 0) break;
      held += await this.check(ids, rates, toReject);
      checked += ids.length;
      if (ids.length < CHECK_BATCH) break;
    }
    if (held > 0) this.logger.log(`quality: ${checked} conversions checked, ${held} held for review`);
    return { floodedClicks, checked, held, toReject };
  }

  /**
   * Scores the conversions `ids`, stores the scores and holds those the policy says; answers how
   * many it held, and adds to `toReject` the pending ones whose completed score reaches the offer's
   * `rejectAbove` (held here, rejected by the quality job through the lifecycle).
   */
  async check(ids: string[], rates = new Map<string, RateFacts | null>(), toReject: string[] = []): Promise<number> {
    const facts = await checkFacts(this.dataSource.manager, ids);
    const key = (f: { offerId: string | null; affiliateId: string | null; sub1: string | null }) => `${f.offerId}|${f.affiliateId}|${f.sub1}`;
    const missing = new Map(facts.filter((f) => f.offerId && f.affiliateId && f.sub1 !== null && !rates.has(key(f))).map((f) => [key(f), f]));
    for (const f of missing.values()) rates.set(key(f), null);
    const wanted = [...missing.values()].map((f) => ({ offerId: f.offerId as string, affiliateId: f.affiliateId as string, sub1: f.sub1 as string }));
    for (const r of await subRates(this.dataSource.manager, wanted)) rates.set(key(r), r);
    const rows = facts.map((f) => {
      if (!f.affiliateId) return { id: f.id, score: null, reasons: null, hold: false };
      const risk = completedRisk(f, rates.get(key(f)) ?? null);
      const decision = qualityDecision(risk.score, f.quality);
      if (f.status === 'pending' && f.hold !== 'awaiting_funds' && decision === 'reject') toReject.push(f.id);
      const hold = f.status === 'pending' && f.hold === null && decision !== null;
      return { id: f.id, score: risk.score, reasons: risk.reasons, hold };
    });
    return this.dataSource.transaction(async (manager) => {
      const held = await conversionsRepository.setRisk(manager, rows);
      for (const id of held) {
        const row = rows.find((r) => r.id === id);
        const codes = (row?.reasons ?? []).map((r: RiskReason) => r.code).join(', ');
        await conversionsRepository.addEvent(manager, {
          conversionId: id,
          from: 'pending',
          to: 'pending',
          actorType: 'system',
          actorId: null,
          reason: `held for review (risk ${row?.score}: ${codes})`,
        });
      }
      return held.length;
    });
  }
}

/**
 * A conversion's completed risk from the quality job's facts; pure. The signals of intake (timing,
 * countries, customer, self-referral) are kept as intake found them; the click's reasons are read
 * again (floods marked since), and what needs counting is added.
 */
export function completedRisk(f: CheckFacts, rate: RateFacts | null): Risk {
  return riskOf(f.ownReasons, f.click?.reasons, [subAnomaly(rate), couponLeak(f.coupon)]);
}
