import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { Queue } from 'bullmq';
import { isIP } from 'node:net';
import { DataSource, EntityManager, In, IsNull } from 'typeorm';
import { AuthPrincipal } from '../../common/auth';
import { invalidField } from '../../common/errors';
import { Page, paginate } from '../../common/pagination';
import { Config } from '../../config/configuration';
import { JOBS, QUEUES } from '../../queue/queues';
import { toConversionView } from '../conversions/conversion.view';
import { conversionsRepository } from '../conversions/conversions.repository';
import { isPrivateAddress, send } from '../partner-postbacks/http-sender';
import { CreateWebhookEndpointDto, ListWebhookDeliveriesQueryDto } from './dto/webhooks.dto';
import { WEBHOOK_EVENTS_BY_ROLE, WebhookDelivery, WebhookEndpoint, WebhookEvent, WebhookEventType, WebhookOutcome } from './webhook.entities';
import { newWebhookSecret, signWebhook } from './webhook-signature';
import { WebhooksError } from './webhooks.errors';

/** What a conversion event becomes: the created one, and the three status changes an endpoint may ask for. */
const CONVERSION_EVENT_TYPES: Partial<Record<string, WebhookEventType>> = {
  approved: 'conversion.approved',
  rejected: 'conversion.rejected',
  reversed: 'conversion.reversed',
};

export interface SendWebhookJob {
  eventId: string;
  endpointId: string;
  attempt: number;
}

/**
 * Outgoing webhooks (README, "Outgoing webhooks"): endpoints, the events each principal gets
 * (one row per event and principal, so its id is the same on every attempt), and the calls,
 * signed, through the postbacks' sender (private addresses refused), retried with a growing
 * delay until a day after the event.
 */
@Injectable()
export class WebhooksService {
  private readonly logger = new Logger(WebhooksService.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly config: ConfigService<Config, true>,
    @InjectQueue(QUEUES.partnerPostbacks) private readonly queue: Queue,
  ) {}

  async create(actor: AuthPrincipal, dto: CreateWebhookEndpointDto): Promise<WebhookEndpoint> {
    const allowed = WEBHOOK_EVENTS_BY_ROLE[actor.role as 'advertiser' | 'affiliate'];
    const foreign = dto.events.filter((type) => !allowed.includes(type));
    if (foreign.length) throw invalidField('events', `${foreign.join(', ')} never concern${foreign.length === 1 ? 's' : ''} an ${actor.role}`);
    const host = new URL(dto.url).hostname.replace(/^\[|\]$/g, '');
    if (!this.config.get('webhooks', { infer: true }).allowPrivateNetworks && isIP(host) && isPrivateAddress(host)) {
      throw invalidField('url', 'is a private address (see POSTBACK_ALLOW_PRIVATE_NETWORKS)');
    }
    const repo = this.dataSource.getRepository(WebhookEndpoint);
    return repo.save(repo.create({ principalId: actor.id, url: dto.url, events: [...new Set(dto.events)], secret: newWebhookSecret() }));
  }

  list(actor: AuthPrincipal): Promise<WebhookEndpoint[]> {
    return this.dataSource.getRepository(WebhookEndpoint).find({ where: { principalId: actor.id, deletedAt: IsNull() }, order: { createdAt: 'ASC' } });
  }

  /** The principal's own endpoint; anyone else's, or a deleted one, is a 404. */
  async get(actor: AuthPrincipal, id: string): Promise<WebhookEndpoint> {
    const endpoint = await this.dataSource.getRepository(WebhookEndpoint).findOneBy({ id, principalId: actor.id, deletedAt: IsNull() });
    if (!endpoint) throw WebhooksError.endpointNotFound();
    return endpoint;
  }

  async remove(actor: AuthPrincipal, id: string): Promise<void> {
    const result = await this.dataSource.getRepository(WebhookEndpoint).update({ id, principalId: actor.id, deletedAt: IsNull() }, { deletedAt: new Date() });
    if (!result.affected) throw WebhooksError.endpointNotFound();
  }

  async deliveries(actor: AuthPrincipal, id: string, query: ListWebhookDeliveriesQueryDto): Promise<Page<WebhookDelivery & { eventType: WebhookEventType }>> {
    await this.get(actor, id);
    const page = await paginate(this.dataSource.getRepository(WebhookDelivery).createQueryBuilder('d').where('d.endpoint_id = :id', { id }), 'd', query);
    const eventIds = [...new Set(page.data.map((d) => d.eventId))];
    const events = eventIds.length ? await this.dataSource.getRepository(WebhookEvent).find({ where: { id: In(eventIds) }, select: { id: true, type: true } }) : [];
    const types = new Map(events.map((e) => [e.id, e.type]));
    return { data: page.data.map((d) => Object.assign(d, { eventType: types.get(d.eventId)! })), nextCursor: page.nextCursor };
  }

  /**
   * The job of a conversion event: `conversion.created` for its first event, `conversion.<status>`
   * for approvals, rejections and reversals, to the advertiser (without payout) and the affiliate
   * (without revenue), each as the conversion views show it to them.
   */
  async conversionEvent(conversionId: string, eventId: string): Promise<number> {
    const manager = this.dataSource.manager;
    const [conversion, event] = await Promise.all([conversionsRepository.find(manager, conversionId), conversionsRepository.findEvent(manager, eventId)]);
    if (!conversion || !event) return 0;
    const type = event.fromStatus === null ? 'conversion.created' : CONVERSION_EVENT_TYPES[event.toStatus];
    if (!type) return 0;
    const viewers = [{ id: conversion.advertiserId, role: 'advertiser' as const }, ...(conversion.affiliateId ? [{ id: conversion.affiliateId, role: 'affiliate' as const }] : [])];
    let sent = 0;
    for (const viewer of viewers) {
      const view = toConversionView(conversion, { ...viewer, name: '', keyId: '' });
      // The status the event moved it to, even if a later change has already happened.
      sent += await this.dispatch(viewer.id, type, { ...view, status: event.toStatus }, `conversion-event:${eventId}`);
    }
    return sent;
  }

  /**
   * Of these principals, those with an endpoint that wants `type` now (read in the caller's
   * transaction): a producer of many events at once (a payout run) queues a `webhook.dispatch`
   * only for them, since `dispatch` would find no endpoint for the others.
   */
  async subscribers(manager: EntityManager, principalIds: string[], type: WebhookEventType): Promise<Set<string>> {
    if (!principalIds.length) return new Set();
    const rows: { principal_id: string }[] = await manager.query(
      `SELECT DISTINCT principal_id FROM webhook_endpoints WHERE principal_id = ANY($1::uuid[]) AND deleted_at IS NULL AND $2 = ANY(events)`,
      [principalIds, type],
    );
    return new Set(rows.map((r) => r.principal_id));
  }

  /**
   * Records the event for the principal (once per `source`) if any of its endpoints wants the
   * type, and queues a call of each such endpoint. Safe to repeat: the event keeps its id and
   * the calls their job ids. Answers how many calls were queued.
   */
  async dispatch(principalId: string, type: WebhookEventType, data: Record<string, unknown>, source: string): Promise<number> {
    const endpoints: { id: string }[] = await this.dataSource.query(
      `SELECT id FROM webhook_endpoints WHERE principal_id = $1 AND deleted_at IS NULL AND $2 = ANY(events) ORDER BY id`,
      [principalId, type],
    );
    if (endpoints.length === 0) return 0;
    await this.dataSource.query(
      `INSERT INTO webhook_events (principal_id, type, data, source) VALUES ($1, $2, $3, $4) ON CONFLICT ON CONSTRAINT webhook_events_source DO NOTHING`,
      [principalId, type, data, source],
    );
    const event = await this.dataSource.getRepository(WebhookEvent).findOneByOrFail({ source, principalId });
    await this.queue.addBulk(endpoints.map((e) => this.sendJob({ eventId: event.id, endpointId: e.id, attempt: 1 }, 0)));
    return endpoints.length;
  }

  /**
   * The job of one call. Delivered once (a 2xx) it is never sent again; a failure is logged and
   * the next attempt queued after min(base × 2^(attempt−1), max delay), while that falls within
   * the retry window from the event; past it the attempt is logged `gave_up`.
   */
  async send(job: SendWebhookJob): Promise<WebhookOutcome | 'already_delivered' | null> {
    const [endpoint, event] = await Promise.all([
      this.dataSource.getRepository(WebhookEndpoint).findOneBy({ id: job.endpointId }),
      this.dataSource.getRepository(WebhookEvent).findOneBy({ id: job.eventId }),
    ]);
    if (!endpoint || !event) return null;
    const meta = { endpointId: endpoint.id, eventId: event.id, attempt: job.attempt };
    if (endpoint.deletedAt) {
      await this.log({ ...meta, statusCode: null, latencyMs: 0, error: null, outcome: 'endpoint_deleted' });
      return 'endpoint_deleted';
    }
    const [done] = await this.dataSource.query(`SELECT 1 FROM webhook_deliveries WHERE event_id = $1 AND endpoint_id = $2 AND outcome = 'delivered' LIMIT 1`, [
      event.id,
      endpoint.id,
    ]);
    if (done) return 'already_delivered';
    const settings = this.config.get('webhooks', { infer: true });
    const body = JSON.stringify({ id: event.id, type: event.type, createdAt: event.createdAt.toISOString(), data: event.data });
    const signature = signWebhook(endpoint.secret, body, Math.floor(Date.now() / 1000));
    const result = await send(endpoint.url, settings.timeoutMs, settings.allowPrivateNetworks, {
      method: 'POST',
      body,
      userAgent: 'Afflux-Webhooks/1.0',
      headers: { 'content-type': 'application/json', 'afflux-signature': signature, 'afflux-event-id': event.id },
    });
    if (!result.error) {
      await this.log({ ...meta, statusCode: result.statusCode, latencyMs: result.latencyMs, error: null, outcome: 'delivered' });
      return 'delivered';
    }
    const delay = Math.min(settings.retryBaseMs * 2 ** (job.attempt - 1), settings.retryMaxDelayMs);
    const retry = Date.now() + delay <= event.createdAt.getTime() + settings.retryWindowMs;
    const outcome = retry ? 'failed' : 'gave_up';
    await this.log({ ...meta, statusCode: result.statusCode, latencyMs: result.latencyMs, error: result.error, outcome });
    this.logger.warn(`webhook ${event.id} (${event.type}) to endpoint ${endpoint.id} ${outcome} on attempt ${job.attempt}: ${result.error}`);
    // Thrown if Redis refuses: the job is retried, and the call made again (at least once).
    if (retry) await this.queue.addBulk([this.sendJob({ ...job, attempt: job.attempt + 1 }, delay)]);
    return outcome;
  }

  private sendJob(data: SendWebhookJob, delay: number) {
    return { name: JOBS.sendWebhook, data, opts: { jobId: `webhook-${data.eventId}-${data.endpointId}-${data.attempt}`, delay } };
  }

  private async log(delivery: Omit<WebhookDelivery, 'id' | 'createdAt'>): Promise<void> {
    await this.dataSource.getRepository(WebhookDelivery).insert(delivery);
  }
}
