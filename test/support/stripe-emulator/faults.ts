/**
 * Injected faults. Each kind acts at one point of the request pipeline:
 *
 * - edge (before anything runs, nothing stored under the idempotency key):
 *   `error500`, `rate_limit`, `lock_timeout`, `timeout` (held open, never answered);
 * - execution (with the idempotency key claimed): `delay` (runs the operation
 *   after `delayMs`, a concurrent same-key request meanwhile gets 409) and
 *   `insufficient_funds` (the operation fails the way Stripe's balance check
 *   does; that result IS stored under the key, as on Stripe);
 * - response: `reset_after_commit` (the operation ran and its result is
 *   stored, then the socket is destroyed without an answer).
 */
import { ApiError, invalidRequest } from './http';

export const FAULT_KINDS = ['error500', 'rate_limit', 'lock_timeout', 'timeout', 'delay', 'insufficient_funds', 'reset_after_commit'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export const EDGE_FAULTS: readonly FaultKind[] = ['error500', 'rate_limit', 'lock_timeout', 'timeout'];

export interface FaultSpec {
  /** HTTP method to match (any when omitted). */
  method?: string;
  /** A string matches the request path exactly (no query string); a RegExp is tested against it. */
  path: RegExp | string;
  kind: FaultKind;
  /** How many matching requests it affects (default: all of them until cleared). */
  times?: number;
  /** For `delay`: how long the operation waits (default 1000 ms). */
  delayMs?: number;
}

export interface ActiveFault {
  method: string | null;
  path: string;
  kind: FaultKind;
  remaining: number | null;
  delayMs: number;
}

interface Fault extends ActiveFault {
  matches: (path: string) => boolean;
}

/** Faults in injection order; the first one matching a request is used and its count goes down. */
export class FaultSet {
  private faults: Fault[] = [];

  add(spec: FaultSpec): void {
    if (spec.times !== undefined && !(Number.isInteger(spec.times) && spec.times > 0)) {
      throw new Error(`fault "times" must be a positive integer, got ${spec.times}`);
    }
    const { path } = spec;
    // Drop g/y flags: a stateful lastIndex would make test() alternate between calls.
    const regexp = typeof path === 'string' ? null : new RegExp(path.source, path.flags.replace(/[gy]/g, ''));
    this.faults.push({
      method: spec.method ? spec.method.toUpperCase() : null,
      path: typeof path === 'string' ? path : String(path),
      kind: spec.kind,
      remaining: spec.times ?? null,
      delayMs: spec.delayMs ?? 1000,
      matches: regexp ? (p) => regexp.test(p) : (p) => p === path,
    });
  }

  clear(): void {
    this.faults = [];
  }

  list(): ActiveFault[] {
    return this.faults.map(({ matches: _matches, ...fault }) => ({ ...fault }));
  }

  /** Consumes the first fault of one of `kinds` matching the request. */
  take(method: string, path: string, kinds: readonly FaultKind[]): ActiveFault | undefined {
    const fault = this.faults.find((f) => kinds.includes(f.kind) && (f.method === null || f.method === method) && f.matches(path));
    if (!fault) return undefined;
    if (fault.remaining !== null && --fault.remaining === 0) this.faults.splice(this.faults.indexOf(fault), 1);
    return fault;
  }
}

/** The answer an edge fault produces (`timeout` has none). */
export function edgeFaultError(kind: FaultKind): ApiError {
  switch (kind) {
    case 'rate_limit':
      return invalidRequest(429, 'Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits.', { code: 'rate_limit' });
    case 'lock_timeout':
      // Stripe asks clients to retry lock timeouts; stripe-node honours the header.
      return invalidRequest(
        429,
        'This object cannot be accessed right now because another API request or Stripe process is currently ' +
          'accessing it. If you see this error intermittently, retry the request.',
        { code: 'lock_timeout', headers: { 'Stripe-Should-Retry': 'true' } },
      );
    default:
      return new ApiError(500, {
        type: 'api_error',
        message: 'An unknown error occurred (injected by the Stripe emulator).',
      });
  }
}
