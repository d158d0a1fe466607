/** Runs `fn(0…total-1)` with at most `concurrency` calls in flight; answers every result in order. */
export async function load<T>(total: number, concurrency: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array(total);
  let next = 0;
  const lane = async () => {
    while (next < total) {
      const i = next++;
      results[i] = await fn(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, lane));
  return results;
}

/** Calls `fn` with `concurrency` lanes until `stop()` answers true (checked between calls); bounded by `maxCalls`. */
export async function loadUntil<T>(stop: () => boolean, concurrency: number, maxCalls: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  let next = 0;
  const lane = async () => {
    while (!stop() && next < maxCalls) {
      const i = next++;
      results.push(await fn(i));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  return results;
}

/** How many of each outcome: `{ '302': 950, 'error': 3 }`. */
export function tally<T>(items: T[], key: (item: T) => string | number): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[String(key(item))] = (counts[String(key(item))] ?? 0) + 1;
  return counts;
}
