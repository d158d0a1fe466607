import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import { toErrorBody } from '../../common/errors';
import { Config } from '../../config/configuration';
import { MetricsService } from '../../common/metrics/metrics.service';
import { compileUrlTemplate, MacroValues } from '../offers/url-template';
import { ClickBuffer } from './click-buffer';
import { linkIdBytes } from './click-id';
import { ClickIdService } from './click-id.service';
import { clickClient, clickSubIds } from './click-request';
import { linkProblemPage, wantsPage } from './link-problem-page';
import { LINK_CODE_PATTERN, LinksService, ResolvedLink } from './links.service';
import { TrackingError } from './tracking.errors';

export const CLICK_ROUTE = '/c/:code';

/** What every click on one link shares, worked out once per cached link instead of per click. */
interface LinkPlan {
  linkIdBytes: Buffer;
  /** The landing URL (or the fallback URL when the link may not run) to fill; null: 410. */
  location: ((values: MacroValues) => string) | null;
  /** The cookie's attributes after its value. */
  cookieAttributes: string;
}

/**
 * `GET /c/:code`, the hot path: a cached link lookup, a signed click id, a buffered click and a
 * 302, with no database round trip on a warm cache. Clicks on a link that may not run (offer
 * paused or archived, affiliate suspended, link archived) are recorded with that status and go
 * to the offer's fallback URL, or get a 410 when it has none.
 */
@Injectable()
export class ClickRedirectService {
  private readonly logger = new Logger(ClickRedirectService.name);
  private readonly cookieSite: string;
  /** Keyed by the cached link object: a link read afresh from the database gets a new plan. */
  private readonly plans = new WeakMap<ResolvedLink, LinkPlan>();
  /** The per-request metrics hook costs more than a cheap tally on this path. */
  private readonly recordRequest: (statusCode: number, elapsedMs: number) => void;

  constructor(
    private readonly links: LinksService,
    private readonly clickIds: ClickIdService,
    private readonly buffer: ClickBuffer,
    config: ConfigService<Config, true>,
    adapterHost: HttpAdapterHost,
    metrics: MetricsService,
  ) {
    this.recordRequest = metrics.requestRecorder('GET', CLICK_ROUTE);
    // The pixel is an image on the advertiser's site: a cross-site request, which browsers send a
    // SameSite=Lax cookie with no longer. None needs Secure, which needs https; on plain http
    // (development) the cookie stays Lax and reaches first-party (CNAME) pixels only (README).
    this.cookieSite = config.get('app', { infer: true }).publicBaseUrl.startsWith('https:') ? 'SameSite=None; Secure' : 'SameSite=Lax';
    // RedirectController declares the route (docs, route config); Fastify then runs this handler
    // directly, without Nest's guard/pipe/filter pipeline, which measured ~25% of the redirect's
    // cost. handle() renders its own errors, so both paths answer alike. Registered now, before
    // Nest adds its routes during init (no HTTP adapter in the worker process).
    const fastify = adapterHost.httpAdapter?.getInstance?.() as FastifyInstance | undefined;
    fastify?.addHook?.('onRoute', (route: RouteOptions) => {
      if (route.url === CLICK_ROUTE && route.method === 'GET') route.handler = (request, reply) => this.handle(request, reply);
    });
  }

  async handle(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    try {
      await this.redirect(request, reply);
    } catch (error) {
      const { status, body } = toErrorBody(error, String(request.id));
      if (status >= 500) this.logger.error({ err: error, requestId: request.id, msg: 'click redirect failed' });
      if (reply.sent) {
        /* nothing more to say */
      } else if (status < 500 && wantsPage(request.headers.accept)) {
        void reply.status(status).header('content-type', 'text/html; charset=utf-8').header('cache-control', 'no-store').send(linkProblemPage(status));
      } else {
        void reply.status(status).header('content-type', 'application/json; charset=utf-8').send(body);
      }
    }
    this.recordRequest(reply.statusCode, reply.elapsedTime);
  }

  private async redirect(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const { code } = request.params as { code: string };
    if (!LINK_CODE_PATTERN.test(code)) throw TrackingError.linkNotFound();
    const pending = this.links.resolve(code);
    const link = pending instanceof Promise ? await pending : pending;
    if (!link) throw TrackingError.linkNotFound();

    const plan = this.plans.get(link) ?? this.plan(link);
    const clickedAt = new Date();
    // A click that was not allowed gets an id marked so (a conversion on it is rejected), no cookie,
    // and no place among the counted clicks or in the uniqueness of later ones.
    const allowed = link.status === 'ok';
    const id = this.clickIds.issue(plan.linkIdBytes, clickedAt, link.status);
    const subs = clickSubIds(request.query, link);
    await this.buffer.push({
      id,
      clickedAt,
      linkId: link.linkId,
      offerId: link.offerId,
      affiliateId: link.affiliateId,
      advertiserId: link.advertiserId,
      channel: link.channel,
      ...subs,
      ...clickClient(request.ip, request.headers),
      status: link.status,
      ...(allowed ? {} : { isUnique: false }),
    });

    if (!plan.location) throw TrackingError.offerUnavailable();
    void reply
      .code(302)
      .header('location', plan.location({ click_id: id, affiliate_id: link.affiliateId, offer_id: link.offerId, ...subs }))
      .header('cache-control', 'no-store')
      .header('referrer-policy', 'no-referrer-when-downgrade');
    if (allowed) void reply.header('set-cookie', `afx_click=${id}${plan.cookieAttributes}`);
    void reply.send();
  }

  private plan(link: ResolvedLink): LinkPlan {
    const template = link.status === 'ok' ? link.landingUrl : link.fallbackUrl;
    const plan: LinkPlan = {
      linkIdBytes: linkIdBytes(link.linkId),
      location: template ? compileUrlTemplate(template) : null,
      cookieAttributes: `; Path=/; Max-Age=${link.attributionWindowDays * 86400}; HttpOnly; ${this.cookieSite}`,
    };
    this.plans.set(link, plan);
    return plan;
  }
}
