import { Client } from 'pg';

/** Which statements a database fault counts: every one, the writes, the writes of money tables (and COMMITs), or only COMMITs. */
export type DbFaultScope = 'any' | 'write' | 'money' | 'commit';
/** `before`: the statement never reaches PostgreSQL; `after`: it ran (a COMMIT committed) and its answer is lost. */
export type DbFaultWhen = 'before' | 'after';

export interface DbFault {
  scope: DbFaultScope;
  when: DbFaultWhen;
  /** The Nth matching statement (1-based) after arming fails. */
  nth: number;
  /**
   * Only statements holding this text count: a hand-written history aims at one statement this
   * way, whatever else (the outbox relay, other jobs) commits meanwhile.
   */
  match?: string;
}

export interface FiredDbFault extends DbFault {
  sql: string;
}

const MATCHERS: Record<DbFaultScope, RegExp> = {
  any: /./,
  write: /^\s*(INSERT|UPDATE|DELETE|WITH|COMMIT)\b/i,
  money: /^\s*COMMIT\b|^\s*(INSERT|UPDATE|DELETE|WITH)\b[\s\S]*\b(payouts|payout_runs|invoices|invoice_runs|journal_entries|conversions|stripe_events)\b/i,
  commit: /^\s*COMMIT\b/i,
};

/** The drain helper's own poll runs on the app's connections too; it is the harness, not the app. */
const HARNESS = /^SELECT count\(\*\)::int AS n FROM outbox WHERE relayed_at IS NULL/;

type QueryFn = (this: Client, ...args: unknown[]) => unknown;

/**
 * A fault injector on the pg client the app's DataSource uses: armed with a fault, it makes the
 * Nth matching statement sent to one database fail the way a dropped connection does. It
 * injects a failure into the real database traffic; it never answers in PostgreSQL's place.
 * The connection itself stays usable (the app rolls back as after any error), which is kinder
 * than a real reset: the findings are holes even so.
 */
export class DbFaultInjector {
  private armed: (DbFault & { seen: number }) | null = null;
  /** While the harness checks its invariants, nothing counts and nothing fails. */
  paused = false;
  private readonly original: QueryFn;
  readonly fired: FiredDbFault[] = [];

  constructor(private readonly database: () => string) {
    const proto = Client.prototype as unknown as { query: QueryFn };
    this.original = proto.query;
    const intercept = (client: Client, args: unknown[]) => this.intercept(client, args);
    proto.query = function (this: Client, ...args: unknown[]) {
      return intercept(this, args);
    };
  }

  arm(fault: DbFault): void {
    this.armed = { ...fault, seen: 0 };
  }

  disarm(): void {
    this.armed = null;
  }

  get isArmed(): boolean {
    return this.armed !== null;
  }

  uninstall(): void {
    (Client.prototype as unknown as { query: QueryFn }).query = this.original;
  }

  private intercept(client: Client, args: unknown[]): unknown {
    const fault = this.armed;
    const [config] = args;
    const text = typeof config === 'string' ? config : (config as { text?: string } | null)?.text;
    // Callback-style and streaming (submittable) queries pass through: the app's money paths use promises.
    const promiseStyle = typeof args[args.length - 1] !== 'function' && typeof (config as { submit?: unknown } | null)?.submit !== 'function';
    if (
      !fault ||
      this.paused ||
      !promiseStyle ||
      HARNESS.test(text ?? '') ||
      typeof text !== 'string' ||
      client.database !== this.database() ||
      !MATCHERS[fault.scope].test(text) ||
      (fault.match !== undefined && !text.includes(fault.match))
    ) {
      return this.original.apply(client, args);
    }
    if (++fault.seen !== fault.nth) return this.original.apply(client, args);
    this.armed = null;
    this.fired.push({ scope: fault.scope, when: fault.when, nth: fault.nth, sql: text.replace(/\s+/g, ' ').slice(0, 160) });
    const error = () => Object.assign(new Error('Connection terminated unexpectedly (injected by the simulation)'), { code: 'ECONNRESET' });
    if (fault.when === 'before') return Promise.reject(error());
    return (this.original.apply(client, args) as Promise<unknown>).then(() => {
      throw error();
    });
  }
}
