import fc from 'fast-check';
import { Lease, LeasedLimit, leaseSizeFor } from './leased-limit';

/** The shared window counters, as the Redis script keeps them: grants out of what is left, one window at a time per subject. */
class Counter {
  leases = 0;
  private readonly windows = new Map<string, { used: number; end: number }>();
  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly clock: { now: number },
  ) {}

  /** Granted in the subject's current window. */
  used(subject = 'adv'): number {
    const w = this.windows.get(subject);
    return w && w.end > this.clock.now ? w.used : 0;
  }

  lease(subject: string, want: number): Lease {
    this.leases += 1;
    let w = this.windows.get(subject);
    if (!w || w.end <= this.clock.now) this.windows.set(subject, (w = { used: 0, end: this.clock.now + this.windowMs }));
    const granted = Math.max(0, Math.min(want, this.limit - w.used));
    w.used += granted;
    return { granted, msLeft: w.end - this.clock.now };
  }
}

const WINDOW = 60_000;

function setup(limit: number, processes = 1, latency = () => Promise.resolve()) {
  const clock = { now: 1_000_000 };
  const counter = new Counter(limit, WINDOW, clock);
  const limits = Array.from(
    { length: processes },
    () =>
      new LeasedLimit(
        limit,
        WINDOW,
        async (subject, want) => {
          await latency();
          return counter.lease(subject, want);
        },
        () => clock.now,
      ),
  );
  return { clock, counter, limits };
}

const allowedOf = (takes: { allowed: boolean }[]) => takes.filter((t) => t.allowed).length;
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('LeasedLimit', () => {
  it('leases 1 % of the limit, at most 100, and exactly what is waiting under 200', () => {
    expect([1, 20, 199, 200, 5_000, 120_000].map(leaseSizeFor)).toEqual([1, 1, 1, 2, 50, 100]);
  });

  it('asks the shared counter once per lease, not once per request', async () => {
    const { counter, limits } = setup(120_000);
    const takes = [];
    for (let i = 0; i < 1_000; i++) takes.push(await limits[0].take('adv'));
    expect(allowedOf(takes)).toBe(1_000);
    // A lease of 100 up front, then one in the background each time half of it is spent.
    expect(counter.leases).toBeLessThanOrEqual(Math.ceil(1_000 / 50) + 1);
    expect(counter.used() - 1_000).toBeLessThanOrEqual(2 * limits[0].leaseSize);
  });

  it('is exact under 200: concurrent requests of two processes get exactly the limit, and lease only what waits', async () => {
    const { counter, limits } = setup(20, 2, tick);
    const takes = await Promise.all(Array.from({ length: 30 }, (_, i) => limits[i % 2].take('adv')));
    expect(allowedOf(takes)).toBe(20);
    expect(takes.filter((t) => !t.allowed).every((t) => !t.allowed && t.retryAfterS === 60)).toBe(true);
    expect(counter.used()).toBe(20);
  });

  it('never admits more than the limit in a window across processes, and at most 2 leases fewer per process', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 3_000 }),
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.nat({ max: 3 }), { minLength: 1, maxLength: 400 }),
        async (limit, processes, schedule) => {
          const { counter, limits } = setup(limit, processes, tick);
          // Demand above the limit, spread over the processes in bursts of random size.
          const demand = limit + 50;
          const takes = [];
          let i = 0;
          while (takes.length < demand) {
            const burst = (schedule[i++ % schedule.length] ?? 0) + 1;
            takes.push(...(await Promise.all(Array.from({ length: burst }, (_, k) => limits[(i + k) % processes].take('adv')))));
          }
          const allowed = allowedOf(takes);
          expect(counter.used()).toBeLessThanOrEqual(limit);
          expect(allowed).toBeLessThanOrEqual(limit);
          expect(allowed).toBeGreaterThanOrEqual(limit - 2 * leaseSizeFor(limit) * processes);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('refuses locally once the window is spent, with the seconds left, and takes the next window', async () => {
    const { clock, counter, limits } = setup(3);
    const first = [];
    for (let i = 0; i < 4; i++) first.push(await limits[0].take('adv'));
    expect(first.map((t) => t.allowed)).toEqual([true, true, true, false]);
    const leases = counter.leases;
    clock.now += 45_500;
    expect(await limits[0].take('adv')).toEqual({ allowed: false, retryAfterS: 15 });
    expect(counter.leases).toBe(leases);
    clock.now += 14_500;
    expect(await limits[0].take('adv')).toEqual({ allowed: true });
    expect(counter.leases).toBe(leases + 1);
  });

  it('never spends a token of one window in the next', async () => {
    const { clock, counter, limits } = setup(10_000);
    expect(await limits[0].take('adv')).toEqual({ allowed: true });
    // The first lease: what waits (1) and a lease to spend from memory; 100 left unspent.
    expect(counter.used()).toBe(1 + limits[0].leaseSize);
    clock.now += WINDOW;
    for (let i = 0; i < 10; i++) expect(await limits[0].take('adv')).toEqual({ allowed: true });
    // Those 10 were leased from the new window, not spent from the old one's leftovers.
    expect(counter.used()).toBeGreaterThanOrEqual(10);
  });

  it('counts each subject on its own', async () => {
    const { limits } = setup(2);
    const takes = [];
    for (const subject of ['a', 'a', 'b', 'a', 'b', 'b']) takes.push((await limits[0].take(subject)).allowed);
    expect(takes).toEqual([true, true, true, false, true, false]);
  });

  it('lets requests through while the counter cannot be asked (fails open), and counts again once it can', async () => {
    let up = false;
    const limit = new LeasedLimit(1, WINDOW, async () => (up ? { granted: 0, msLeft: 1_000 } : null));
    expect(await limit.take('adv')).toEqual({ allowed: true });
    expect(await limit.take('adv')).toEqual({ allowed: true });
    up = true;
    expect(await limit.take('adv')).toEqual({ allowed: false, retryAfterS: 1 });
  });

  it('fails open when the lease source throws', async () => {
    const limit = new LeasedLimit(500, WINDOW, () => Promise.reject(new Error('down')));
    expect(await limit.take('adv')).toEqual({ allowed: true });
  });
});
