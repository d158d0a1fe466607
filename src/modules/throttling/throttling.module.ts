import { ExecutionContext, Global, Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { APP_GUARD, Reflector } from '@nestjs/core';
import { getOptionsToken, getStorageToken, ThrottlerModuleOptions, ThrottlerOptions } from '@nestjs/throttler';
import type { FastifyRequest } from 'fastify';
import { createHash } from 'node:crypto';
import { bearerKey, IS_PUBLIC } from '../../common/auth';
import { Config } from '../../config/configuration';
import { ApiThrottlerGuard, isApiRoute, isPortalRoute } from './api-throttler.guard';
import { RateLimiter } from './rate-limiter.service';
import { RedisThrottlerStorage } from './redis-throttler.storage';

const reflector = new Reflector();
const routeOf = (context: ExecutionContext) => context.switchToHttp().getRequest<FastifyRequest>().routeOptions?.url ?? '';
const isApi = (context: ExecutionContext) => isApiRoute(routeOf(context));
const isPortal = (context: ExecutionContext) => isPortalRoute(routeOf(context));
const isPublic = (context: ExecutionContext) => reflector.getAllAndOverride<boolean>(IS_PUBLIC, [context.getHandler(), context.getClass()]) === true;

/**
 * The bearer key's digest: the limit follows the key (parsed as authentication parses it, so no
 * spelling of the header gets a fresh bucket) whatever process answers, and the key is never stored.
 */
function apiKeyTracker(request: FastifyRequest): string {
  const key = bearerKey(request.headers.authorization);
  return createHash('sha256')
    .update(key ?? `ip:${request.ip}`)
    .digest('base64url')
    .slice(0, 32);
}

function throttlerOptions(config: ConfigService<Config, true>): ThrottlerModuleOptions {
  const { windowMs, api, anonymous, portal } = config.get('rateLimit', { infer: true });
  const clientIp = (req: Record<string, unknown>) => (req as unknown as FastifyRequest).ip;
  const throttlers: ThrottlerOptions[] = [
    { name: 'api', ttl: windowMs, limit: api, skipIf: (context) => !isApi(context) || isPublic(context), getTracker: (req) => apiKeyTracker(req as FastifyRequest) },
    { name: 'anonymous', ttl: windowMs, limit: anonymous, skipIf: (context) => !isApi(context) || !isPublic(context), getTracker: clientIp },
    // Portal pages are all open to the guard (the portal checks its own session): one count per address.
    { name: 'portal', ttl: windowMs, limit: portal, skipIf: (context) => !isPortal(context), getTracker: clientIp },
  ];
  return {
    throttlers: throttlers.filter((t) => t.limit !== 0),
    // One counter per key (or IP) across every route, not one per route.
    generateKey: (_context, tracker, name) => `${name}:${tracker}`,
  };
}

/**
 * Rate limits: per API key on the authenticated `/v1` API, per client IP on the `/v1` routes
 * open without a key and on the portal, per advertiser on postbacks (RateLimiter, once the
 * postback is authenticated), and per client IP on unknown API keys and on the public forms
 * (RateLimiter, in the handlers). Counters live in Redis (RATE_LIMIT_* settings), shared by
 * every process.
 */
@Global()
@Module({
  providers: [
    { provide: getOptionsToken(), inject: [ConfigService], useFactory: throttlerOptions },
    { provide: getStorageToken(), useClass: RedisThrottlerStorage },
    { provide: APP_GUARD, useClass: ApiThrottlerGuard },
    RateLimiter,
  ],
  exports: [RateLimiter],
})
export class ThrottlingModule {}
