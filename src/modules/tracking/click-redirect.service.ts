import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import { parse as parseQuery } from 'fast-querystring';
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import { clientAddress, LeanHandler, requestIdOf } from '../../common/http/lean-server';
import { toErrorBody } from '../../common/errors';
import { accessLogLine } from '../../common/logging/access-log';
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

type Query = Record<string, unknown>;

/** A click's answer, whichever way the request came in (LeanServer or Fastify). */
interface ClickAnswer {
  status: number;
  headers: OutgoingHttpHeaders;
  body: string;
}

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
  private readonly clientAddress: (req: IncomingMessage) => string | undefined;
  /** ACCESS_LOG=all: a line for every request, clicks included (README, "Logs"). */
  private readonly logEveryRequest: boolean;
  private readonly http = new Logger('Http');

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
    const app = config.get('app', { infer: true });
    this.cookieSite = app.publicBaseUrl.startsWith('https:') ? 'SameSite=None; Secure' : 'SameSite=Lax';
    this.clientAddress = clientAddress(app.trustProxy);
    this.logEveryRequest = app.accessLog === 'all';
    // RedirectController declares the route (docs, route config); Fastify then runs this handler
    // directly, without Nest's guard/pipe/filter pipeline, which measured ~25% of the redirect's
    // cost. handle() renders its own errors, so both paths answer alike. Registered now, before
    // Nest adds its routes during init (no HTTP adapter in the worker process).
    const fastify = adapterHost.httpAdapter?.getInstance?.() as FastifyInstance | undefined;
    fastify?.addHook?.('onRoute', (route: RouteOptions) => {
      if (route.url === CLICK_ROUTE && route.method === 'GET') route.handler = (request, reply) => this.handle(request, reply);
    });
  }

  /** The Fastify route's handler: requests that do not come through LeanServer (`inject()` in tests, odd paths). */
  async handle(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const { code } = request.params as { code: string };
    const answer = await this.respond(code, request.query as Query, request.ip, request.headers, String(request.id));
    void reply
      .code(answer.status)
      .headers(answer.headers)
      .send(answer.body || undefined);
    this.recordRequest(reply.statusCode, reply.elapsedTime);
  }

  /**
   * The click route as LeanServer runs it, ahead of Fastify (ARCHITECTURE.md, "Hot paths"): the
   * same answer as handle() gives, with the request id, the client address behind trusted
   * proxies, the metrics and the access log done here. A path that is not `/c/<code>` with a
   * well-formed code is left to Fastify, which routes (or refuses) it as usual.
   */
  readonly lean: LeanHandler = (req, res, draining) => {
    const url = req.url as string;
    const mark = url.indexOf('?');
    const code = mark === -1 ? url.slice(3) : url.slice(3, mark);
    if (!LINK_CODE_PATTERN.test(code)) return false;
    const started = performance.now();
    const requestId = requestIdOf(req.headers);
    const query: Query = mark === -1 ? {} : parseQuery(url.slice(mark + 1));
    void this.respond(code, query, this.clientAddress(req), req.headers, requestId).then((answer) => {
      const headers = answer.headers;
      headers['content-length'] = Buffer.byteLength(answer.body);
      headers['x-request-id'] = requestId;
      if (draining) headers['connection'] = 'close';
      try {
        res.writeHead(answer.status, headers).end(answer.body);
      } catch (error) {
        // Headers Node refuses (it validates them): nothing was sent yet.
        this.logger.error({ err: error, requestId, msg: 'click redirect could not be written' });
        res.destroy();
      }
      const elapsedMs = performance.now() - started;
      this.recordRequest(answer.status, elapsedMs);
      if (this.logEveryRequest) this.http.log(accessLogLine(req.method as string, CLICK_ROUTE, answer.status, elapsedMs, requestId));
    });
    return true;
  };

  /** The answer to a click on `code`: a 302 to its landing page, or the error (never throws). */
  private async respond(code: string, query: Query, ip: string | undefined, headers: IncomingHttpHeaders, requestId: string): Promise<ClickAnswer> {
    try {
      return await this.redirect(code, query, ip, headers);
    } catch (error) {
      const { status, body } = toErrorBody(error, requestId);
      if (status >= 500) this.logger.error({ err: error, requestId, msg: 'click redirect failed' });
      if (status < 500 && wantsPage(headers.accept))
        return { status, headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }, body: linkProblemPage(status) };
      return { status, headers: { 'content-type': 'application/json; charset=utf-8' }, body: JSON.stringify(body) };
    }
  }

  private async redirect(code: string, query: Query, ip: string | undefined, headers: IncomingHttpHeaders): Promise<ClickAnswer> {
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
    const subs = clickSubIds(query, link);
    const client = clickClient(ip, headers);
    // Resolves at once unless the buffer is full (back-pressure).
    await this.buffer.push({
      id,
      clickedAt,
      linkId: link.linkId,
      offerId: link.offerId,
      affiliateId: link.affiliateId,
      advertiserId: link.advertiserId,
      channel: link.channel,
      sub1: subs.sub1,
      sub2: subs.sub2,
      sub3: subs.sub3,
      sub4: subs.sub4,
      sub5: subs.sub5,
      ip: client.ip,
      userAgent: client.userAgent,
      referrer: client.referrer,
      status: link.status,
      ...(allowed ? {} : { isUnique: false }),
    });

    if (!plan.location) throw TrackingError.offerUnavailable();
    const answer: ClickAnswer = {
      status: 302,
      headers: {
        location: plan.location({ click_id: id, affiliate_id: link.affiliateId, offer_id: link.offerId, ...subs }),
        'cache-control': 'no-store',
        'referrer-policy': 'no-referrer-when-downgrade',
      },
      body: '',
    };
    if (allowed) answer.headers['set-cookie'] = `afx_click=${id}${plan.cookieAttributes}`;
    return answer;
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
