import { All, Controller, Get, Header, HttpCode, Logger, Req, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Counter } from 'prom-client';
import { Public } from '../../common/auth';
import { ValidationError } from '../../common/errors';
import { RedisService } from '../../queue/redis.service';
import { PrincipalsService } from '../principals/principals.service';
import { MetricsService } from '../../common/metrics/metrics.service';
import { ClickIdService } from '../tracking/click-id.service';
import { LinksService } from '../tracking/links.service';
import { RateLimiter } from '../throttling/rate-limiter.service';
import { ConversionsError } from './conversions.errors';
import { ConversionsService } from './conversions.service';
import { PostbackResultView } from './dto/conversion.dto';
import { parseConversionTime } from './conversion-time';
import { PostbackParamsDto } from './dto/postback.dto';
import { parsePostback } from './postback-params';
import { matchingSignature, parseSignature, SIGNATURE_HEADER, SIGNATURE_TOLERANCE_S } from './postback-auth';

/** Why a pixel recorded nothing (afx_pixels_ignored_total's reason label). */
type PixelIgnored = 'no_cookie' | 'bad_cookie' | 'limited' | 'invalid' | 'txn_taken' | 'failed';

/** A transparent 1×1 GIF. */
const PIXEL = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

type RawRequest = FastifyRequest & { rawBody?: Buffer };

@ApiTags('tracking')
@Public()
@Controller()
export class PostbackController {
  private readonly logger = new Logger(PostbackController.name);
  private readonly ignoredPixels: Counter<string>;

  constructor(
    private readonly conversions: ConversionsService,
    private readonly principals: PrincipalsService,
    private readonly clickIds: ClickIdService,
    private readonly links: LinksService,
    private readonly rateLimits: RateLimiter,
    private readonly redis: RedisService,
    metrics: MetricsService,
  ) {
    this.ignoredPixels = metrics.counter('afx_pixels_ignored_total', 'Conversion pixels that recorded nothing, by reason', ['reason']);
  }

  @All('postback')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Server-to-server conversion postback (GET or POST)',
    description:
      'Parameters: click_id or coupon, goal, txn_id, amount (decimal string), currency, conversion_time (ISO 8601 or unix seconds), status=reversed. Authenticate with `token` (your postback token) or an `X-Afflux-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<raw query or body>">` header plus `advertiser_id`; a signed POST carries every parameter in its body and none in the query string, and each signature is accepted once. Answers {id, status, reason?}; a repeat answers the same id.',
  })
  @ApiOkResponse({ type: PostbackResultView })
  async postback(@Req() request: RawRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<PostbackResultView> {
    if (request.method !== 'GET' && request.method !== 'POST') {
      reply.header('allow', 'GET, POST');
      throw new ConversionsError('method_not_allowed', 405, 'Use GET or POST');
    }
    const raw = { ...(request.query as object), ...(request.method === 'POST' && isObject(request.body) ? request.body : {}) };
    const params = await parsePostback(raw);
    const advertiserId = await this.authenticate(request, params);
    await this.rateLimits.consume('postbacks', advertiserId, reply);
    const actor = { type: 'postback' as const, id: advertiserId };
    if (params.status === 'reversed') {
      const conversion = await this.conversions.reverseByTxn(advertiserId, params.goal, params.txn_id, actor);
      return result(conversion);
    }
    const { conversion, created } = await this.conversions.record(
      {
        advertiserId,
        source: 'postback',
        goal: params.goal,
        txnId: params.txn_id,
        clickId: params.click_id,
        coupon: params.coupon,
        amount: params.amount !== undefined ? { decimal: params.amount } : null,
        currency: params.currency,
        occurredAt: params.conversion_time !== undefined ? parseConversionTime(params.conversion_time) : null,
        customerId: params.customer_id,
        ip: request.ip,
        userAgent: request.headers['user-agent'] ?? null,
      },
      actor,
    );
    reply.status(created ? 201 : 200);
    return result(conversion);
  }

  @Get('pixel.gif')
  @Header('content-type', 'image/gif')
  @Header('cache-control', 'no-store, max-age=0')
  @ApiOperation({
    summary: 'Conversion pixel: reads the afx_click cookie; always answers a 1×1 GIF',
    description:
      'Query: goal, txn_id, amount, currency. Unauthenticated, so it has a txn_id space of its own: an authenticated postback or API call for the same goal and txn_id wins and supersedes it. The amount counts only on offers with pixelAmounts; pixels are limited per click and per IP.',
  })
  async pixel(@Req() request: FastifyRequest): Promise<Buffer> {
    let ignored: PixelIgnored | null;
    try {
      ignored = await this.recordPixel(request);
    } catch (error) {
      // A pixel never fails the page it sits on; what went wrong goes to the log.
      this.logger.debug(`pixel ignored: ${(error as Error).message}`);
      ignored = error instanceof ValidationError || error instanceof ConversionsError ? 'invalid' : 'failed';
    }
    if (ignored) this.ignoredPixels.inc({ reason: ignored });
    return PIXEL;
  }

  private async recordPixel(request: FastifyRequest): Promise<PixelIgnored | null> {
    const clickId = readCookie(request.headers.cookie, 'afx_click');
    if (!clickId) return 'no_cookie';
    const verified = this.clickIds.verify(clickId);
    const link = verified ? await this.links.context(verified.linkId) : null;
    if (!link) return 'bad_cookie';
    if (!(await this.rateLimits.allow('pixelPerIp', request.ip)) || !(await this.rateLimits.allow('pixelPerClick', clickId))) return 'limited';
    const params = await parsePostback({ ...(request.query as object), click_id: clickId });
    const { conversion } = await this.conversions.record(
      {
        advertiserId: link.advertiserId,
        source: 'pixel',
        goal: params.goal,
        txnId: params.txn_id,
        clickId,
        // Whether the amount counts depends on the offer (pixelAmounts): the service decides.
        amount: params.amount !== undefined ? { decimal: params.amount } : null,
        currency: params.currency,
        ip: request.ip,
        userAgent: request.headers['user-agent'] ?? null,
      },
      { type: 'postback', id: link.advertiserId },
    );
    return conversion.source === 'pixel' ? null : 'txn_taken';
  }

  private async authenticate(request: RawRequest, params: PostbackParamsDto): Promise<string> {
    const header = request.headers[SIGNATURE_HEADER];
    if (typeof header === 'string' && params.advertiser_id) {
      const query = request.url.split('?')[1] ?? '';
      // The signature covers the body of a POST: a query parameter beside it (status=reversed…) would be unsigned.
      if (request.method === 'POST' && query !== '') throw ConversionsError.unsignedParameters();
      const parsed = parseSignature(header);
      if (!parsed) throw ConversionsError.invalidSignature();
      if (Math.abs(Date.now() / 1000 - parsed.timestamp) > SIGNATURE_TOLERANCE_S) throw ConversionsError.staleSignature();
      const payload = request.method === 'POST' ? (request.rawBody?.toString('utf8') ?? '') : query;
      const secrets = await this.principals.livePostbackTokens(params.advertiser_id);
      const signature = matchingSignature(secrets, parsed.timestamp, payload, parsed.signatures);
      if (!signature) throw ConversionsError.invalidSignature();
      await this.acceptOnce(params.advertiser_id, signature);
      return params.advertiser_id;
    }
    const advertiserId = params.token ? await this.principals.advertiserForPostbackToken(params.token, request.ip) : null;
    if (!advertiserId) throw ConversionsError.invalidToken();
    return advertiserId;
  }

  /**
   * Remembers an accepted signature for as long as its timestamp is within the tolerance (either
   * side of now), so a captured request cannot be replayed. Without Redis this cannot be
   * checked: the postback is refused (503) and the advertiser's retry, signed afresh, gets in.
   */
  private async acceptOnce(advertiserId: string, signature: string): Promise<void> {
    let fresh: string | null;
    try {
      fresh = await this.redis.client.set(this.redis.key('postback', 'signature', advertiserId, signature), '1', 'EX', 2 * SIGNATURE_TOLERANCE_S, 'NX');
    } catch (error) {
      this.logger.warn(`postback signature not checked for replay, Redis unavailable: ${(error as Error).message}`);
      throw new ConversionsError('signature_check_unavailable', 503, 'The signature cannot be checked for replay right now; retry shortly');
    }
    if (fresh !== 'OK') throw ConversionsError.signatureReplayed();
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function result(conversion: { id: string; status: PostbackResultView['status']; reason: string | null }): PostbackResultView {
  return { id: conversion.id, status: conversion.status, ...(conversion.reason ? { reason: conversion.reason } : {}) };
}

function readCookie(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return decodeURIComponent(rest.join('='));
  }
  return null;
}
