import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { QueryFailedError } from 'typeorm';
import { AppError, ErrorDetail, RateLimitedError } from './app-error';

export interface ErrorBody {
  error: { code: string; message: string; details: ErrorDetail[]; requestId?: string };
}

const STATUS_CODES: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  406: 'not_acceptable',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  422: 'unprocessable_entity',
  429: 'rate_limited',
  503: 'service_unavailable',
};

/** Renders every error as the error body the README describes ({"error": {code, message, details}}); unknown errors become a 500 with the request id only. */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw exception;
    const ctx = host.switchToHttp();
    const reply = ctx.getResponse<FastifyReply>();
    const request = ctx.getRequest<FastifyRequest>();
    const { status, body } = toErrorBody(exception, String(request.id));
    if (status >= 500) {
      this.logger.error({ err: exception, requestId: request.id, url: request.url }, 'unhandled error');
    }
    if (reply.sent) return;
    if (exception instanceof RateLimitedError) void reply.header('retry-after', String(exception.retryAfterSeconds));
    void reply.status(status).header('content-type', 'application/json; charset=utf-8').send(body);
  }
}

export function toErrorBody(exception: unknown, requestId: string): { status: number; body: ErrorBody } {
  if (exception instanceof AppError) {
    return {
      status: exception.status,
      body: { error: { code: exception.code, message: exception.message, details: exception.details } },
    };
  }
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    const response = exception.getResponse();
    const message =
      typeof response === 'string' ? response : typeof (response as { message?: unknown }).message === 'string' ? (response as { message: string }).message : exception.message;
    return { status, body: { error: { code: STATUS_CODES[status] ?? 'error', message, details: [] } } };
  }
  const fastifyError = exception as { statusCode?: number; code?: string; message?: string };
  if (typeof fastifyError?.statusCode === 'number' && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
    // Fastify's own client errors (body too large, bad JSON, bad content type).
    const status = fastifyError.statusCode;
    const code =
      fastifyError.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
        ? 'payload_too_large'
        : fastifyError.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
          ? 'unsupported_media_type'
          : status === 400
            ? 'malformed_request'
            : (STATUS_CODES[status] ?? 'bad_request');
    return { status, body: { error: { code, message: sanitize(fastifyError.message), details: [] } } };
  }
  if (exception instanceof QueryFailedError) {
    // Constraint races the services did not map: a client error, never a leak of SQL.
    const pgCode = (exception as unknown as { code?: string }).code;
    if (pgCode === '23505') {
      return { status: 409, body: { error: { code: 'conflict', message: 'The resource already exists', details: [] } } };
    }
    if (pgCode === '22P02' || pgCode === '22003' || pgCode === '22001') {
      return { status: 400, body: { error: { code: 'bad_request', message: 'A value is out of range or malformed', details: [] } } };
    }
  }
  return {
    status: HttpStatus.INTERNAL_SERVER_ERROR,
    body: { error: { code: 'internal_error', message: `Something went wrong; quote request id ${requestId}`, details: [], requestId } },
  };
}

function sanitize(message: string | undefined): string {
  return (message ?? 'Bad request').replace(/^FST_\w+:\s*/, '').slice(0, 300);
}
