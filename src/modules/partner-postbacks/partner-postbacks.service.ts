import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, IsNull } from 'typeorm';
import { AuthPrincipal } from '../../common/auth';
import { Page, paginate } from '../../common/pagination';
import { Config } from '../../config/configuration';
import { MetricsService } from '../../common/metrics/metrics.service';
import type { Counter } from 'prom-client';
import { Conversion } from '../conversions/conversion.entity';
import { conversionsRepository } from '../conversions/conversions.repository';
import { OffersService } from '../offers/offers.service';
import { fillUrlTemplate } from '../offers/url-template';
import { ClicksService } from '../tracking/clicks.service';
import { LinksService } from '../tracking/links.service';
import { ListAttemptsQueryDto, PutPartnerPostbackSettingDto } from './dto/partner-postbacks.dto';
import { SendResult, sendGet } from './http-sender';
import { PartnerPostbackDeliveries } from './partner-postback-deliveries';
import { PartnerPostbackAttempt } from './partner-postback-attempt.entity';
import { PartnerPostbackFacts, partnerPostbackValues } from './partner-postback-macros';
import { PartnerPostbackSetting } from './partner-postback-setting.entity';
import { PartnerPostbackDeliveryError, PartnerPostbacksError } from './partner-postbacks.errors';

/** An attempt that called nothing: no status, no time. */
const NOT_SENT = { statusCode: null, latencyMs: 0, responseExcerpt: null } as const;

@Injectable()
export class PartnerPostbacksService {
  private readonly logger = new Logger(PartnerPostbacksService.name);
  private readonly attemptsByOutcome: Counter<'outcome'>;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly config: ConfigService<Config, true>,
    private readonly offers: OffersService,
    private readonly links: LinksService,
    private readonly clicks: ClicksService,
    private readonly deliveries: PartnerPostbackDeliveries,
    metrics: MetricsService,
  ) {
    this.attemptsByOutcome = metrics.counter('afx_postback_attempts_total', 'outgoing partner postback attempts by outcome (delivered, failed, deferred …)', ['outcome']);
  }

  async put(actor: AuthPrincipal, dto: PutPartnerPostbackSettingDto): Promise<PartnerPostbackSetting> {
    // The offer must be one the affiliate can see; anything else is a 404.
    if (dto.offerId) await this.offers.getVisible(actor, dto.offerId);
    const offerId = dto.offerId ?? null;
    await this.dataSource.query(
      `INSERT INTO postback_settings (affiliate_id, offer_id, url_template) VALUES ($1, $2, $3)
       ON CONFLICT (affiliate_id, COALESCE(offer_id, '00000000-0000-0000-0000-000000000000'::uuid))
       DO UPDATE SET url_template = EXCLUDED.url_template, updated_at = now()`,
      [actor.id, offerId, dto.urlTemplate],
    );
    return this.dataSource.getRepository(PartnerPostbackSetting).findOneByOrFail({ affiliateId: actor.id, offerId: offerId ?? IsNull() });
  }

  list(affiliateId: string): Promise<PartnerPostbackSetting[]> {
    return this.dataSource.getRepository(PartnerPostbackSetting).find({ where: { affiliateId }, order: { createdAt: 'ASC' } });
  }

  async remove(affiliateId: string, offerId: string | undefined): Promise<void> {
    const result = await this.dataSource.getRepository(PartnerPostbackSetting).delete({ affiliateId, offerId: offerId ?? IsNull() });
    if (!result.affected) throw PartnerPostbacksError.settingNotFound();
  }

  attempts(actor: AuthPrincipal, query: ListAttemptsQueryDto): Promise<Page<PartnerPostbackAttempt>> {
    const qb = this.dataSource.getRepository(PartnerPostbackAttempt).createQueryBuilder('a');
    const affiliateId = actor.role === 'affiliate' ? actor.id : query.affiliateId;
    if (affiliateId) qb.andWhere('a.affiliate_id = :affiliateId', { affiliateId });
    if (query.conversionId) qb.andWhere('a.conversion_id = :conversionId', { conversionId: query.conversionId });
    return paginate(qb, 'a', query);
  }

  /**
   * The job: calls the affiliate's URL for one conversion event, in order and once (see
   * "Outgoing postbacks" in the README). A failure is logged as an attempt and thrown, so BullMQ
   * retries with backoff up to its ceiling; an event that need not be sent is logged with why.
   */
  async deliver(conversionId: string, eventId: string, attempt: number): Promise<PartnerPostbackAttempt | null> {
    const conversion = await conversionsRepository.find(this.dataSource.manager, conversionId);
    if (!conversion?.affiliateId) return null;
    const setting = await this.settingFor(conversion.affiliateId, conversion.offerId);
    if (!setting) return null;
    const event = await conversionsRepository.findEvent(this.dataSource.manager, eventId);
    const facts: PartnerPostbackFacts = {
      clickId: conversion.clickId,
      subs: await this.subsOf(conversion),
      payout: conversion.payout,
      currency: conversion.currency,
      status: event?.toStatus ?? conversion.status,
      goal: conversion.goalKey,
      txnId: conversion.txnId,
      offerId: conversion.offerId,
      conversionId: conversion.id,
    };
    const url = fillUrlTemplate(setting.urlTemplate, partnerPostbackValues(facts));
    const meta = { affiliateId: conversion.affiliateId, url, conversionId, eventId, attempt, isTest: false };
    const turn = await this.deliveries.claim(conversionId, eventId);
    if (turn !== 'send') {
      const logged = await this.log({ ...meta, ...NOT_SENT, outcome: turn, error: turn === 'deferred' ? 'an earlier postback of this conversion is still being sent' : null });
      if (turn === 'deferred') throw new PartnerPostbackDeliveryError(`postback for conversion ${conversionId} waits for an earlier one`);
      return logged;
    }
    const result = await this.send(url);
    const logged = await this.dataSource.transaction(async (manager) => {
      await this.deliveries.settle(manager, eventId, result.error ? 'failed' : 'delivered');
      return this.log({ ...meta, ...result, outcome: result.error ? 'failed' : 'delivered' }, manager);
    });
    if (result.error) throw new PartnerPostbackDeliveryError(`postback for conversion ${conversionId} failed: ${result.error}`);
    return logged;
  }

  /** Fires a sample postback now, with made-up values, and answers the logged attempt. */
  async test(actor: AuthPrincipal, offerId: string | undefined): Promise<PartnerPostbackAttempt> {
    const setting = await this.settingFor(actor.id, offerId ?? null);
    if (!setting) throw PartnerPostbacksError.settingNotFound();
    const facts: PartnerPostbackFacts = {
      clickId: 'TEST_CLICK_ID',
      subs: ['sub1', 'sub2', 'sub3', 'sub4', 'sub5'],
      payout: 1234,
      currency: 'USD',
      status: 'pending',
      goal: 'sale',
      txnId: 'TEST_TXN',
      offerId: offerId ?? null,
      conversionId: '00000000-0000-0000-0000-000000000000',
    };
    return this.call(actor.id, setting.urlTemplate, facts, { conversionId: null, eventId: null, attempt: 1, isTest: true });
  }

  private async call(
    affiliateId: string,
    template: string,
    facts: PartnerPostbackFacts,
    meta: Pick<PartnerPostbackAttempt, 'conversionId' | 'eventId' | 'attempt' | 'isTest'>,
  ): Promise<PartnerPostbackAttempt> {
    const url = fillUrlTemplate(template, partnerPostbackValues(facts));
    const result = await this.send(url);
    return this.log({ affiliateId, url, ...meta, ...result, outcome: result.error ? 'failed' : 'delivered' });
  }

  private send(url: string): Promise<SendResult> {
    const { timeoutMs, allowPrivateNetworks } = this.config.get('partnerPostbacks', { infer: true });
    return sendGet(url, timeoutMs, allowPrivateNetworks);
  }

  private async log(attempt: Omit<PartnerPostbackAttempt, 'id' | 'createdAt'>, manager: EntityManager = this.dataSource.manager): Promise<PartnerPostbackAttempt> {
    const repo = manager.getRepository(PartnerPostbackAttempt);
    const saved = await repo.save(repo.create(attempt));
    this.attemptsByOutcome.inc({ outcome: attempt.outcome });
    if (attempt.error) this.logger.warn(`postback ${saved.id} to affiliate ${attempt.affiliateId} ${attempt.outcome} (attempt ${attempt.attempt}): ${attempt.error}`);
    return saved;
  }

  private async settingFor(affiliateId: string, offerId: string | null): Promise<PartnerPostbackSetting | null> {
    const repo = this.dataSource.getRepository(PartnerPostbackSetting);
    return (offerId ? await repo.findOneBy({ affiliateId, offerId }) : null) ?? repo.findOneBy({ affiliateId, offerId: IsNull() });
  }

  /** Sub ids as clicked, falling back to the link's defaults if the click row is not written yet. */
  private async subsOf(conversion: Conversion): Promise<(string | null)[]> {
    const source =
      (conversion.clickId && conversion.clickedAt ? await this.clicks.find(conversion.clickId, conversion.clickedAt) : null) ??
      (conversion.linkId ? await this.links.context(conversion.linkId) : null);
    return [source?.sub1 ?? null, source?.sub2 ?? null, source?.sub3 ?? null, source?.sub4 ?? null, source?.sub5 ?? null];
  }
}
