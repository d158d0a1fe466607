import { DataSource } from 'typeorm';
import { RunEngine, RunProgress } from './run-engine';

/** The engine's own run-row updates go nowhere here: what is tested is how it drives the items. */
const noDatabase = { query: async () => [] } as unknown as DataSource;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('RunEngine', () => {
  it('prepares the items a window at a time, hands each its own, keeps `concurrency` in flight, and ends on exact progress', async () => {
    const items = Array.from({ length: 23 }, (_, i) => ({ id: `i${String(i).padStart(2, '0')}` }));
    const windows: string[][] = [];
    const seen = new Map<string, number>();
    let inFlight = 0;
    let peak = 0;
    let done = 0;
    const reports: RunProgress[] = [];
    const engine = new RunEngine<{ id: string }, number>(noDatabase, {
      table: 'payout_runs',
      concurrency: 4,
      noun: 'item',
      window: 10,
      plan: async () => undefined,
      open: async () => items,
      prepare: async (batch) => {
        windows.push(batch.map((b) => b.id));
        return new Map(batch.map((b, i) => [b.id, i]));
      },
      execute: async (item, prepared) => {
        peak = Math.max(peak, ++inFlight);
        seen.set(item.id, prepared as number);
        await sleep(2);
        inFlight--;
        done++;
      },
      failed: async () => 'retry',
      progress: async () => ({ done, total: items.length }),
      abandon: async () => undefined,
    });
    await engine.execute('run', async (p) => {
      reports.push(p);
      await sleep(1);
    });
    expect(windows.map((w) => w.length)).toEqual([10, 10, 3]);
    expect([...seen.entries()].sort()).toEqual(items.map((item, i) => [item.id, i % 10]));
    expect(peak).toBe(4);
    // Fewer reports than items (one at a time, throttled), the last one final.
    expect(reports.length).toBeLessThan(items.length);
    expect(reports.at(-1)).toEqual({ done: 23, total: 23 });
  });

  it('fails every item of a window whose preparation failed, and the attempt with them', async () => {
    const items = [{ id: 'a' }, { id: 'b' }, { id: 'c' }];
    const failed: string[] = [];
    const engine = new RunEngine<{ id: string }, number>(noDatabase, {
      table: 'payout_runs',
      concurrency: 2,
      noun: 'item',
      window: 2,
      plan: async () => undefined,
      open: async () => items,
      prepare: async (batch) => {
        if (batch[0].id === 'a') throw new Error('claim lost');
        return new Map(batch.map((b) => [b.id, 1]));
      },
      execute: async () => undefined,
      failed: async (item) => {
        failed.push(item.id);
        return 'retry';
      },
      progress: async () => ({ done: 0, total: 3 }),
      abandon: async () => undefined,
    });
    await expect(engine.execute('run', async () => undefined)).rejects.toThrow('claim lost');
    expect(failed.sort()).toEqual(['a', 'b']);
  });
});
