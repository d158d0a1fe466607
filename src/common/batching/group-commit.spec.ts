import { GroupCommit } from './group-commit';

describe('GroupCommit', () => {
  it('writes the calls of one tick together, each caller getting its own result', async () => {
    const writes: number[][] = [];
    const group = new GroupCommit<number, number>(async (xs) => {
      writes.push(xs);
      return xs.map((x) => x * 10);
    });
    expect(await Promise.all([1, 2, 3].map((x) => group.submit(x)))).toEqual([10, 20, 30]);
    expect(writes).toEqual([[1, 2, 3]]);
  });

  it('gathers the calls arriving while a batch is written into the next one', async () => {
    const writes: number[][] = [];
    let release: () => void = () => undefined;
    const group = new GroupCommit<number, number>(async (xs) => {
      writes.push(xs);
      if (writes.length === 1) await new Promise<void>((r) => (release = r));
      return xs;
    });
    const first = group.submit(1);
    await new Promise((r) => setImmediate(r));
    const later = [group.submit(2), group.submit(3)];
    await new Promise((r) => setImmediate(r));
    release();
    expect(await Promise.all([first, ...later])).toEqual([1, 2, 3]);
    expect(writes).toEqual([[1], [2, 3]]);
  });

  it('runs each call of a failed batch alone, so only the faulty caller gets the error', async () => {
    const writes: number[][] = [];
    const group = new GroupCommit<number, number>(async (xs) => {
      writes.push(xs);
      if (xs.includes(2)) throw new Error('two is refused');
      return xs;
    });
    const results = await Promise.allSettled([1, 2, 3].map((x) => group.submit(x)));
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual([1, 'two is refused', 3]);
    expect(writes).toEqual([[1, 2, 3], [1], [2], [3]]);
  });

  it('keeps a batch within maxBatch by size, and still takes an input bigger than that alone', async () => {
    const writes: string[][][] = [];
    const group = new GroupCommit<string[], number>(
      async (lists) => {
        writes.push(lists);
        return lists.map((l) => l.length);
      },
      { maxBatch: 3, sizeOf: (l) => l.length },
    );
    const inputs = [['a', 'b'], ['c'], ['d', 'e', 'f', 'g'], ['h']];
    expect(await Promise.all(inputs.map((l) => group.submit(l)))).toEqual([2, 1, 4, 1]);
    expect(writes).toEqual([[['a', 'b'], ['c']], [['d', 'e', 'f', 'g']], [['h']]]);
  });
});

describe('GroupCommit with concurrency', () => {
  it('writes up to that many batches at once, gathering the rest for the next', async () => {
    const writes: number[][] = [];
    const releases: (() => void)[] = [];
    let active = 0;
    let most = 0;
    const group = new GroupCommit<number, number>(
      async (xs) => {
        writes.push(xs);
        most = Math.max(most, ++active);
        await new Promise<void>((r) => releases.push(r));
        active--;
        return xs;
      },
      { concurrency: 2, maxBatch: 2 },
    );
    const all = [1, 2, 3, 4, 5, 6].map((x) => group.submit(x));
    while (writes.flat().length < 6) {
      await new Promise((r) => setImmediate(r));
      releases.splice(0).forEach((r) => r());
    }
    expect(await Promise.all(all)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(most).toBe(2);
    expect(writes).toEqual([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
  });
});
