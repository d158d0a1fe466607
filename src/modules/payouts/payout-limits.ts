/**
 * How hard a payout run drives its rail. Stripe's basic rate limiter allows 100 write requests a
 * second in live mode (25 in test mode) and answers 429 beyond it (https://stripe.com/docs/rate-limits),
 * which a run waits out (payout-runs.service.ts); the bench's baseline sends its bare transfers
 * at this same concurrency.
 */
/** Requests to a payout rail (transfers, look-ups) in flight at once, for all the runs of a worker. */
export const TRANSFER_CONCURRENCY = 8;
