import Stripe from 'stripe';
import { isDefinitiveRefusal } from './stripe.client';

describe('isDefinitiveRefusal', () => {
  const raw = (statusCode: number) => ({ message: 'refused', statusCode });

  it('is true only for an invalid request or a card decline answered with a 4xx other than 409 and 429', () => {
    expect(isDefinitiveRefusal(new Stripe.errors.StripeInvalidRequestError({ ...raw(400), type: 'invalid_request_error' }))).toBe(true);
    expect(isDefinitiveRefusal(new Stripe.errors.StripeInvalidRequestError({ ...raw(404), type: 'invalid_request_error' }))).toBe(true);
    expect(isDefinitiveRefusal(new Stripe.errors.StripeCardError({ ...raw(402), type: 'card_error' }))).toBe(true);
  });

  it.each([
    ['a concurrent request with the same key (409)', new Stripe.errors.StripeInvalidRequestError({ ...raw(409), type: 'invalid_request_error' })],
    ['a rate limit (429)', new Stripe.errors.StripeInvalidRequestError({ ...raw(429), type: 'invalid_request_error' })],
    ['an idempotency error', new Stripe.errors.StripeIdempotencyError({ ...raw(400), type: 'idempotency_error' })],
    ['a 500', new Stripe.errors.StripeAPIError({ ...raw(500), type: 'api_error' })],
    ['a lost connection', new Stripe.errors.StripeConnectionError({ message: 'socket hang up', type: 'api_error' })],
    ['a bad key', new Stripe.errors.StripeAuthenticationError({ ...raw(401), type: 'invalid_request_error' })],
    ['a database error', new Error('terminating connection due to administrator command')],
  ])('is false for %s: Stripe may have acted, so it is retried', (_name, error) => {
    expect(isDefinitiveRefusal(error)).toBe(false);
  });
});
