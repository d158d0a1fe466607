import { ArgumentsHost, Catch, ExceptionFilter, Logger } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { RateLimitedError, toErrorBody } from '../../../common/errors';
import { PortalViews } from './portal-views';
import { isHtmx, PortalRedirect, PortalRequest } from './portal-request';

const TITLES: Record<number, string> = {
  400: 'That did not work',
  401: 'Signed out',
  403: 'Not allowed',
  404: 'Page not found',
  409: 'That did not work',
  429: 'Too many attempts',
  503: 'Temporarily unavailable',
};

/**
 * Errors as pages a person understands, never the API's JSON: the 404 page (also for ids of
 * another principal), a message for refused actions, and for anything unexpected a generic
 * page with the request id (the detail goes to the log only, as the API's filter does).
 */
@Catch()
export class PortalExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger(PortalExceptionFilter.name);

  constructor(private readonly views: PortalViews) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const request = host.switchToHttp().getRequest<PortalRequest>();
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    if (reply.sent) return;
    if (exception instanceof PortalRedirect) {
      void (isHtmx(request) ? reply.header('hx-redirect', exception.location).send('') : reply.redirect(exception.location, 303));
      return;
    }
    const { status, body } = toErrorBody(exception, String(request.id));
    if (exception instanceof RateLimitedError) void reply.header('retry-after', String(exception.retryAfterSeconds));
    if (status >= 500) this.logger.error({ err: exception, requestId: request.id, url: request.url }, 'portal error');
    const message =
      status === 404
        ? 'There is nothing here, or it is not yours to see.'
        : status >= 500
          ? `Something went wrong on our side. If it keeps happening, quote request id ${request.id}.`
          : body.error.message;
    const data = { title: TITLES[status] ?? 'Something went wrong', message, status };
    if (isHtmx(request)) {
      // Into the page's message area, whatever the element that asked was going to swap.
      reply.header('hx-retarget', '#flash').header('hx-reswap', 'innerHTML');
      void this.views.page(request, reply, request.portal, 'partials/alert', data, status);
      return;
    }
    void this.views.page(request, reply, request.portal, 'error', data, status);
  }
}
