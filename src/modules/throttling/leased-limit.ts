/**
 * A rate limit counted in Redis, spent locally: each process takes tokens from the shared window
 * counter in leases (one Redis round trip per lease, not per request) and spends them from
 * memory. Postbacks use it, the hottest limited path (README, `RATE_LIMIT_POSTBACKS`).
 *
 * What it guarantees, across any number of processes sharing the counter:
 * - never more than `limit` requests admitted in a window: a lease is granted only out of what
 *   the window has left (atomically, in Redis), and a leased token dies with its window;
 * - at most 2 × `leaseSize` fewer than the limit per process: the tokens a process leased and had
 *   not spent when the window ended (`leaseSizeFor`: 1 % of the limit, at most 100; a limit
 *   under 200 leases exactly what its waiting requests need, so it is exact, as before).
 * Once a window is spent, a process refuses locally until it ends, with no round trip. When Redis
 * does not answer, the lease source says so and the request goes through (rate limits fail open).
 */

/** What a lease got: tokens granted out of the window, and the ms left in that window. */
export interface Lease {
  granted: number;
  msLeft: number;
}

/** Asks the shared counter for up to `want` tokens of `subject`'s window; null when it cannot be asked (fail open). */
export type LeaseSource = (subject: string, want: number) => Promise<Lease | null>;

export type Take = { allowed: true } | { allowed: false; retryAfterS: number };

const ALLOWED: Take = { allowed: true };
/** A lease arrives in the background once a bucket is down to this share of a lease. */
const REFILL_AT = 0.5;
const MAX_LEASE = 100;
/** Buckets of subjects not seen for this long are forgotten. */
const SWEEP_EVERY = 10_000;

/** Tokens per lease: 1 % of the limit, at most 100; 1 (exact) under 200. */
export function leaseSizeFor(limit: number): number {
  return Math.max(1, Math.min(MAX_LEASE, Math.floor(limit / 100)));
}

interface Bucket {
  /** Leased and not spent yet, valid until `expires`. */
  tokens: number;
  expires: number;
  /** The window is spent: refused without asking until then. */
  blockedUntil: number;
  /** Requests waiting for the lease in flight. */
  waiting: number;
  pending: Promise<boolean> | null;
}

export class LeasedLimit {
  readonly leaseSize: number;
  private readonly buckets = new Map<string, Bucket>();
  private takes = 0;

  constructor(
    readonly limit: number,
    private readonly windowMs: number,
    private readonly source: LeaseSource,
    private readonly now: () => number = Date.now,
  ) {
    this.leaseSize = leaseSizeFor(limit);
  }

  /** Spends one token of `subject`'s window: allowed, or refused with the seconds until the window ends. */
  async take(subject: string): Promise<Take> {
    if (++this.takes % SWEEP_EVERY === 0) this.sweep();
    let bucket = this.buckets.get(subject);
    if (!bucket) this.buckets.set(subject, (bucket = { tokens: 0, expires: 0, blockedUntil: 0, waiting: 0, pending: null }));
    for (;;) {
      const now = this.now();
      if (bucket.expires <= now) bucket.tokens = 0;
      if (bucket.tokens > 0) {
        bucket.tokens -= 1;
        if (this.leaseSize > 1 && !bucket.pending && bucket.tokens <= this.leaseSize * REFILL_AT) void this.refill(subject, bucket);
        return ALLOWED;
      }
      if (bucket.blockedUntil > now) return { allowed: false, retryAfterS: Math.max(1, Math.ceil((bucket.blockedUntil - now) / 1000)) };
      bucket.waiting += 1;
      let answered: boolean;
      try {
        answered = await (bucket.pending ?? this.refill(subject, bucket));
      } finally {
        bucket.waiting -= 1;
      }
      // Redis did not answer: let it through, as every rate limit does then.
      if (!answered) return ALLOWED;
    }
  }

  /**
   * Leases tokens for `bucket` (one lease in flight per bucket): what the requests waiting need,
   * plus a lease's worth to spend from memory. False when the source could not be asked.
   */
  private refill(subject: string, bucket: Bucket): Promise<boolean> {
    const want = bucket.waiting + (this.leaseSize > 1 ? this.leaseSize : 0);
    const sentAt = this.now();
    const pending = this.source(subject, Math.max(1, want))
      .then((lease) => {
        if (!lease) return false;
        // The window ends no earlier than this (Redis read its TTL after we sent).
        const expires = sentAt + lease.msLeft;
        // Tokens of an earlier window are dead: never spent in the next one.
        const sameWindow = bucket.expires > this.now() && Math.abs(expires - bucket.expires) < this.windowMs / 2;
        bucket.tokens = (sameWindow ? bucket.tokens : 0) + lease.granted;
        bucket.expires = sameWindow ? Math.min(bucket.expires, expires) : expires;
        if (lease.granted < want) bucket.blockedUntil = expires;
        return true;
      })
      .catch(() => false)
      .finally(() => {
        if (bucket.pending === pending) bucket.pending = null;
      });
    bucket.pending = pending;
    return pending;
  }

  private sweep(): void {
    const now = this.now();
    for (const [subject, bucket] of this.buckets) {
      if (bucket.expires <= now && bucket.blockedUntil <= now && !bucket.pending) this.buckets.delete(subject);
    }
  }
}
