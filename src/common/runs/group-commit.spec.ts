import { GroupCommit } from './group-commit';

describe('GroupCommit', () => {
  it('writes a lone item at once and groups the items submitted while a batch is being written', async () => {
    const batches: number[][] = [];
    let release: () => void = () => undefined;
    const group = new GroupCommit<number, string>(async (items) => {
      batches.push(items);
      if (batches.length === 1) await new Promise<void>((resolve) => (release = resolve));
      return items.map((i) => `done ${i}`);
    }, 3);
    const first = group.submit(1);
    const rest = [2, 3, 4, 5].map((i) => group.submit(i));
    release();
    expect(await Promise.all([first, ...rest])).toEqual(['done 1', 'done 2', 'done 3', 'done 4', 'done 5']);
    expect(batches).toEqual([[1], [2, 3, 4], [5]]);
  });

  it('fails each item of a failed batch, and goes on with the next one', async () => {
    const batches: number[][] = [];
    const group = new GroupCommit<number, number>(async (items) => {
      batches.push(items);
      await new Promise((resolve) => setTimeout(resolve, 5));
      if (batches.length === 2) throw new Error('batch lost');
      return items;
    });
    const results = await Promise.allSettled([1, 2, 3].map((i) => group.submit(i)));
    expect(batches).toEqual([[1], [2, 3]]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected']);
    expect(await group.submit(4)).toBe(4);
  });
});
