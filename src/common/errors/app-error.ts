import { HttpStatus } from '@nestjs/common';

export interface ErrorDetail {
  field?: string;
  message: string;
  [key: string]: unknown;
}

/**
 * A failure the client can act on: a stable snake_case code, an HTTP status and a message.
 * Features throw their own subclasses (see `*.errors.ts`); the exception filter renders them.
 */
export class AppError extends Error {
  constructor(
    readonly code: string,
    readonly status: HttpStatus,
    message: string,
    readonly details: ErrorDetail[] = [],
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class NotFoundError extends AppError {
  constructor(what: string, code = `${what.toLowerCase().replace(/\s+/g, '_')}_not_found`) {
    super(code, HttpStatus.NOT_FOUND, `${what} not found`);
  }
}

export class ValidationError extends AppError {
  constructor(details: ErrorDetail[], message = 'The request is invalid') {
    super('validation_failed', HttpStatus.BAD_REQUEST, message, details);
  }
}

export class ConflictError extends AppError {
  constructor(code: string, message: string) {
    super(code, HttpStatus.CONFLICT, message);
  }
}

export class ForbiddenError extends AppError {
  constructor(code = 'forbidden', message = 'Your role may not do this') {
    super(code, HttpStatus.FORBIDDEN, message);
  }
}

export class UnauthorizedError extends AppError {
  constructor(message = 'A valid API key is required') {
    super('unauthorized', HttpStatus.UNAUTHORIZED, message);
  }
}

/** Over a rate limit: 429, and the filters send Retry-After with the seconds left. */
export class RateLimitedError extends AppError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super('rate_limited', HttpStatus.TOO_MANY_REQUESTS, message);
  }
}

export class ServiceUnavailableError extends AppError {
  constructor(code: string, message: string) {
    super(code, HttpStatus.SERVICE_UNAVAILABLE, message);
  }
}

/** One field's problem, as a 400. */
export function invalidField(field: string, message: string, code = 'validation_failed'): AppError {
  return new AppError(code, HttpStatus.BAD_REQUEST, `${field}: ${message}`, [{ field, message }]);
}
