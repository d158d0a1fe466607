import { BatchBuffer, BatchBufferOptions, DropReason } from './batch-buffer';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A sink standing in for the database: records batches, fails while `down`, can be slowed. */
function harness(options: Partial<BatchBufferOptions<number>> = {}) {
  const sink = { batches: [] as number[][], down: false, delayMs: 0, attempts: 0, startedAt: [] as number[] };
  const dropped: Record<string, number> = {};
  const buffer = new BatchBuffer<number>({
    maxItems: 100,
    batchSize: 10,
    flushIntervalMs: 10,
    backpressureTimeoutMs: 20,
    retryDelayMs: () => 5,
    write: async (batch) => {
      sink.attempts++;
      sink.startedAt.push(Date.now());
      if (sink.delayMs) await sleep(sink.delayMs);
      if (sink.down) throw new Error('database down');
      sink.batches.push(batch);
    },
    onDrop: (count: number, reason: DropReason) => (dropped[reason] = (dropped[reason] ?? 0) + count),
    onWriteError: () => undefined,
    ...options,
  });
  const written = () => sink.batches.flat();
  return { buffer, sink, dropped, written };
}

describe('BatchBuffer', () => {
  it('writes accepted items on the interval, in order', async () => {
    const { buffer, written } = harness();
    buffer.start();
    for (let i = 0; i < 5; i++) await buffer.push(i);
    expect(written()).toEqual([]);
    await sleep(40);
    expect(written()).toEqual([0, 1, 2, 3, 4]);
    await buffer.close(1000);
  });

  it('writes a full batch at once, without waiting for the interval', async () => {
    const { buffer, sink } = harness({ flushIntervalMs: 10_000 });
    buffer.start();
    for (let i = 0; i < 25; i++) await buffer.push(i);
    await sleep(5);
    expect(sink.batches).toEqual([
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
      [10, 11, 12, 13, 14, 15, 16, 17, 18, 19],
    ]);
    await buffer.flush();
    expect(sink.batches[2]).toEqual([20, 21, 22, 23, 24]);
    await buffer.close(1000);
  });

  it('keeps the interval while a write is in flight: what arrived meanwhile is written as soon as it ends', async () => {
    jest.useFakeTimers({ now: 0 });
    try {
      const { buffer, sink, written } = harness({ flushIntervalMs: 50 });
      sink.delayMs = 80;
      buffer.start();
      await buffer.push(0);
      await jest.advanceTimersByTimeAsync(60); // the tick at 50 starts writing [0] until 130
      await buffer.push(1);
      await jest.advanceTimersByTimeAsync(80); // the tick at 100 finds that write in flight
      // Waiting for the tick at 150 would have left item 1 unwritten for a second interval.
      expect(sink.startedAt).toEqual([50, 130]);
      await jest.advanceTimersByTimeAsync(80);
      expect(written()).toEqual([0, 1]);
      await buffer.close(1000);
    } finally {
      jest.useRealTimers();
    }
  });

  it('with two writes in flight, starts the batch of the next interval while a slow write runs', async () => {
    jest.useFakeTimers({ now: 0 });
    try {
      const { buffer, sink, written } = harness({ flushIntervalMs: 50, maxWritesInFlight: 2 });
      sink.delayMs = 120;
      buffer.start();
      await buffer.push(0);
      await jest.advanceTimersByTimeAsync(60); // the tick at 50 starts writing [0] until 170
      await buffer.push(1);
      await jest.advanceTimersByTimeAsync(45); // the tick at 100 starts [1] beside it, until 220
      expect(sink.startedAt).toEqual([50, 100]);
      await buffer.push(2);
      await jest.advanceTimersByTimeAsync(70); // the tick at 150 finds both busy; the first to end (170) takes [2]
      expect(sink.startedAt).toEqual([50, 100, 170]);
      await jest.advanceTimersByTimeAsync(200);
      expect(written().sort()).toEqual([0, 1, 2]);
      expect(buffer.size).toBe(0);
      await buffer.close(1000);
    } finally {
      jest.useRealTimers();
    }
  });

  it('with two writes in flight, keeps every item through failures and writes each once', async () => {
    const { buffer, sink, written, dropped } = harness({ maxWritesInFlight: 2 });
    sink.delayMs = 3;
    buffer.start();
    sink.down = true;
    for (let i = 0; i < 45; i++) await buffer.push(i);
    await sleep(50);
    expect(buffer.size).toBe(45);
    sink.down = false;
    await buffer.flush();
    expect(written().sort((a, b) => a - b)).toEqual(Array.from({ length: 45 }, (_, i) => i));
    expect(dropped).toEqual({});
    await buffer.close(1000);
  });

  it('flush() writes everything pushed before it, in batches', async () => {
    const { buffer, sink, written } = harness();
    for (let i = 0; i < 33; i++) void buffer.push(i);
    await buffer.flush();
    expect(written()).toEqual(Array.from({ length: 33 }, (_, i) => i));
    expect(sink.batches.map((b) => b.length)).toEqual([10, 10, 10, 3]);
    expect(buffer.size).toBe(0);
  });

  it('keeps items through failed writes and retries until they are stored', async () => {
    const { buffer, sink, written, dropped } = harness();
    buffer.start();
    sink.down = true;
    for (let i = 0; i < 15; i++) await buffer.push(i);
    await sleep(50);
    expect(sink.attempts).toBeGreaterThan(2);
    expect(buffer.size).toBe(15);
    sink.down = false;
    await buffer.flush();
    expect(written()).toEqual(Array.from({ length: 15 }, (_, i) => i));
    expect(dropped).toEqual({});
    await buffer.close(1000);
  });

  it('makes a push wait while full, and lets it in when a write makes room', async () => {
    const { buffer, sink, written, dropped } = harness({ maxItems: 10, batchSize: 10, backpressureTimeoutMs: 1000 });
    sink.delayMs = 30;
    for (let i = 0; i < 10; i++) await buffer.push(i);
    let accepted = false;
    const waiting = buffer.push(10).then(() => (accepted = true));
    await sleep(5);
    expect(accepted).toBe(false);
    await waiting;
    await buffer.flush();
    expect(written()).toEqual(Array.from({ length: 11 }, (_, i) => i));
    expect(dropped).toEqual({});
  });

  it('drops the oldest unwritten item for a push that waited too long, and counts it', async () => {
    const { buffer, sink, written, dropped } = harness({ maxItems: 10, backpressureTimeoutMs: 10 });
    sink.down = true;
    for (let i = 0; i < 10; i++) await buffer.push(i);
    await Promise.all([buffer.push(10), buffer.push(11)]);
    expect(dropped).toEqual({ buffer_full: 2 });
    expect(buffer.size).toBe(10);
    sink.down = false;
    await buffer.flush();
    expect(written()).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  });

  it('finds an item still waiting to be written', async () => {
    const { buffer } = harness({ flushIntervalMs: 10_000 });
    await buffer.push(7);
    expect(buffer.find((n) => n === 7)).toBe(7);
    expect(buffer.find((n) => n === 8)).toBeUndefined();
    await buffer.flush();
    expect(buffer.find((n) => n === 7)).toBeUndefined();
  });

  it('writes what is left on close, and reports what it could not write', async () => {
    const ok = harness({ flushIntervalMs: 10_000 });
    ok.buffer.start();
    for (let i = 0; i < 3; i++) await ok.buffer.push(i);
    expect(await ok.buffer.close(1000)).toBe(0);
    expect(ok.written()).toEqual([0, 1, 2]);
    await ok.buffer.push(3);
    expect(ok.dropped).toEqual({ shutdown: 1 });

    const down = harness();
    down.sink.down = true;
    for (let i = 0; i < 4; i++) await down.buffer.push(i);
    expect(await down.buffer.close(30)).toBe(4);
    expect(down.dropped).toEqual({ shutdown: 4 });
    down.sink.down = false;
  });
});
