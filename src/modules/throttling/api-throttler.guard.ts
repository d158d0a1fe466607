import { ExecutionContext, Injectable } from '@nestjs/common';
import { ThrottlerGuard } from '@nestjs/throttler';
import type { ThrottlerLimitDetail } from '@nestjs/throttler/dist/throttler.guard.interface';
import type { FastifyReply, FastifyRequest } from 'fastify';

export const isApiRoute = (url: string) => url.startsWith('/v1/');
export const isPortalRoute = (url: string) => /^\/portal(\/|$)/.test(url);

/**
 * @nestjs/throttler's guard on the `/v1` API and the portal: the click redirect bypasses Nest, postbacks
 * are limited per advertiser once authenticated (RateLimiter), and operator routes have their own
 * protection. The throttlers themselves (per API key, per IP on open routes) are configured in
 * ThrottlingModule.
 */
@Injectable()
export class ApiThrottlerGuard extends ThrottlerGuard {
  protected async shouldSkip(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const url = context.switchToHttp().getRequest<FastifyRequest>().routeOptions?.url ?? '';
    return !isApiRoute(url) && !isPortalRoute(url);
  }

  /** The library names the header after the throttler (Retry-After-api); clients read the standard one. */
  protected async throwThrottlingException(context: ExecutionContext, detail: ThrottlerLimitDetail): Promise<void> {
    void context.switchToHttp().getResponse<FastifyReply>().header('retry-after', String(detail.timeToBlockExpire));
    return super.throwThrottlingException(context, detail);
  }
}
