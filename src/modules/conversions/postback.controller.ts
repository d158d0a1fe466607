import { All, Controller, Get, Header, HttpCode, Logger, Req, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Public } from '../../common/auth';
import { ValidationError } from '../../common/errors';
import { flattenValidationErrors } from '../../common/validation/validation.pipe';
import { AccountsService } from '../accounts/accounts.service';
import { ClickIdService } from '../tracking/click-id.service';
import { LinksService } from '../tracking/links.service';
import { RateLimiter } from '../throttling/rate-limiter.service';
import { ConversionsError } from './conversions.errors';
import { ConversionsService } from './conversions.service';
import { PostbackResultView } from './dto/conversion.dto';
import { PostbackParamsDto } from './dto/postback.dto';
import { parseSignature, SIGNATURE_HEADER, SIGNATURE_TOLERANCE_S, signatureMatches } from './postback-auth';

/** A transparent 1×1 GIF. */
const PIXEL = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

type RawRequest = FastifyRequest & { rawBody?: Buffer };

@ApiTags('tracking')
@Public()
@Controller()
export class PostbackController {
  private readonly logger = new Logger(PostbackController.name);

  constructor(
    private readonly conversions: ConversionsService,
    private readonly accounts: AccountsService,
    private readonly clickIds: ClickIdService,
    private readonly links: LinksService,
    private readonly rateLimits: RateLimiter,
  ) {}

  @All('postback')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Server-to-server conversion postback (GET or POST)',
    description:
      'Parameters: click_id or coupon, goal, txn_id, amount (decimal string), currency, status=reversed. Authenticate with `token` (your postback token) or an `X-Afflux-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<raw query or body>">` header plus `advertiser_id`. Answers {id, status, reason?}; a repeat answers the same id.',
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
  @ApiOperation({ summary: 'Conversion pixel: reads the afx_click cookie; always answers a 1×1 GIF', description: 'Query: goal, txn_id, amount, currency.' })
  async pixel(@Req() request: FastifyRequest): Promise<Buffer> {
    try {
      await this.recordPixel(request);
    } catch (error) {
      // A pixel never fails the page it sits on; what went wrong goes to the log.
      this.logger.debug(`pixel ignored: ${(error as Error).message}`);
    }
    return PIXEL;
  }

  private async recordPixel(request: FastifyRequest): Promise<void> {
    const clickId = readCookie(request.headers.cookie, 'afx_click');
    const verified = clickId ? this.clickIds.verify(clickId) : null;
    const link = verified ? await this.links.context(verified.linkId) : null;
    if (!clickId || !link) return;
    const params = await parsePostback({ ...(request.query as object), click_id: clickId });
    await this.conversions.record(
      {
        advertiserId: link.advertiserId,
        source: 'pixel',
        goal: params.goal,
        txnId: params.txn_id,
        clickId,
        amount: params.amount !== undefined ? { decimal: params.amount } : null,
        currency: params.currency,
        ip: request.ip,
        userAgent: request.headers['user-agent'] ?? null,
      },
      { type: 'postback', id: link.advertiserId },
    );
  }

  private async authenticate(request: RawRequest, params: PostbackParamsDto): Promise<string> {
    const header = request.headers[SIGNATURE_HEADER];
    if (typeof header === 'string' && params.advertiser_id) {
      const parsed = parseSignature(header);
      if (!parsed) throw ConversionsError.invalidSignature();
      if (Math.abs(Date.now() / 1000 - parsed.timestamp) > SIGNATURE_TOLERANCE_S) throw ConversionsError.staleSignature();
      const payload = request.method === 'POST' ? (request.rawBody?.toString('utf8') ?? '') : (request.url.split('?')[1] ?? '');
      const secrets = await this.accounts.livePostbackTokens(params.advertiser_id);
      if (!signatureMatches(secrets, parsed.timestamp, payload, parsed.signatures)) throw ConversionsError.invalidSignature();
      return params.advertiser_id;
    }
    const advertiserId = params.token ? await this.accounts.advertiserForPostbackToken(params.token) : null;
    if (!advertiserId) throw ConversionsError.invalidToken();
    return advertiserId;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

async function parsePostback(raw: Record<string, unknown>): Promise<PostbackParamsDto> {
  // A parameter given twice arrives as an array: refuse it rather than guess.
  const repeated = Object.entries(raw).filter(([, v]) => Array.isArray(v)).map(([k]) => k);
  if (repeated.length) throw new ValidationError(repeated.map((field) => ({ field, message: `${field} is given more than once` })));
  const params = plainToInstance(PostbackParamsDto, raw);
  const errors = await validate(params, { whitelist: true, forbidNonWhitelisted: false, validationError: { target: false, value: false } });
  if (errors.length) {
    const details = flattenValidationErrors(errors);
    throw new ValidationError(details, details.map((d) => d.message).join('; '));
  }
  return params;
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
