import fc from 'fast-check';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { DbFaultInjector } from './support/db-faults';
import { describeStep, historyArb, Step } from './support/history';
import { InvariantViolation, SimCounters, World } from './support/world';

/**
 * The whole money flow as a seeded simulation (TigerBeetle's VOPR, FoundationDB's simulation
 * tests, at the scale of one process): each seed draws a history — clicks, postbacks by click id
 * and coupon (repeated, concurrent), pixels, approvals by hand and by the lock-period job,
 * rejections, reversals by API and by postback, payout and invoice runs, transfers reversed in
 * full or in part, invoices paid, Stripe webhooks held back then delivered late, twice and out of
 * order, faults of the Stripe emulator and of the database, restarts — and runs it against the
 * real services; after every step every invariant of test/sim/support/invariants.ts must hold.
 * A broken one is shrunk to the shortest history that still breaks it. See test/sim/README.md.
 */

/** The CI set: fixed, so a red run is a regression (or a known hole) and never bad luck. */
const CI_SEEDS = [1, 2, 3, 4, 5, 6, 7, 8];
const env = process.env;
const seeds: number[] = env.SIM_SEED
  ? [Number(env.SIM_SEED)]
  : env.SIM_SEEDS
    ? Array.from({ length: Number(env.SIM_SEEDS) }, () => Math.floor(Math.random() * 2 ** 31))
    : CI_SEEDS;
const MAX_STEPS = Number(env.SIM_STEPS ?? 40);
// Shrinking replays the history many times; a replay of one seed can afford more.
const SHRINK_MS = 1000 * Number(env.SIM_SHRINK_SECONDS ?? (env.SIM_SEED ? 240 : 25));

const counters: SimCounters = { steps: 0, faults: 0, checks: 0 };
const summary = { seeds: 0, steps: 0, faults: 0, checks: 0, ms: 0, failures: [] as { seed: number; invariant: string; report: string }[] };
const started = Date.now();
let database = '';
let injector: DbFaultInjector;

beforeAll(() => {
  injector = new DbFaultInjector(() => database);
});

afterAll(() => {
  injector.uninstall();
  Object.assign(summary, counters, { ms: Date.now() - started });
  if (env.SIM_SUMMARY_FILE) {
    mkdirSync(dirname(env.SIM_SUMMARY_FILE), { recursive: true });
    writeFileSync(env.SIM_SUMMARY_FILE, JSON.stringify(summary, null, 2));
  }
});

interface Failure {
  steps: Step[];
  message: string;
}

const invariantOf = (message: string) => (message.startsWith('harness error') ? 'harness error' : (/invariant broken: [^\n]*/.exec(message)?.[0] ?? message.split('\n')[0]));

describe('the money flow, simulated', () => {
  for (const seed of seeds) {
    it(`seed ${seed}: every invariant holds after every step`, async () => {
      summary.seeds++;
      let first: Failure | null = null;
      let last: Failure | null = null;
      let firstAt = 0;
      const property = fc.asyncProperty(historyArb(MAX_STEPS), async (steps) => {
        // Out of shrinking time: every further candidate "passes", so the shortest found stands.
        if (first && Date.now() - firstAt > SHRINK_MS) return true;
        const world = await World.create(injector, counters);
        database = world.databaseName;
        try {
          await world.run(steps);
        } catch (error) {
          const message = error instanceof InvariantViolation ? error.message : `harness error: ${(error as Error).stack ?? error}`;
          // A shorter history counts only if it breaks the same invariant.
          if (first && invariantOf(message) !== invariantOf(first.message)) return true;
          last = { steps, message };
          if (!first) {
            first = last;
            firstAt = Date.now();
          }
          throw error;
        } finally {
          await world.close();
        }
      });
      const details = await fc.check(property, { seed, numRuns: 1, plugins: [fc.unbiased()], ...(env.SIM_PATH ? { path: env.SIM_PATH } : {}) });
      if (!details.failed) return;
      const f = (last ?? first) as Failure | null;
      if (!f) throw new Error(`seed ${seed} failed: ${String(details.errorInstance)}`);
      const original = (first as Failure | null)?.steps.length ?? f.steps.length;
      const report = [
        `✗ seed ${seed} broke ${invariantOf(f.message)}`,
        f.message,
        `shortest history found: ${f.steps.length} step(s) (from ${original}, ${details.numShrinks} shrink(s)):`,
        ...f.steps.map((s, i) => `  #${i + 1} ${describeStep(s)}`),
        `replay: npm run test:sim -- --seed ${seed}   (draws the history again and shrinks it)`,
        `        npm run test:sim -- --seed ${seed} --path ${details.counterexamplePath}   (the shortest history directly)`,
      ].join('\n');
      summary.failures.push({ seed, invariant: invariantOf(f.message), report });
      throw new Error(report);
    });
  }
});
