/**
 * Group commit: callers submit one item each and wait for its result; items submitted while a
 * batch is being written go together in the next one (at most `max`), so a burst of N items costs
 * a few transactions instead of N, and a lone item is written at once (no timer, no linger).
 * A batch that fails fails each of its items (each caller meets the error).
 */
export class GroupCommit<T, R> {
  private pending: { item: T; resolve: (r: R) => void; reject: (e: unknown) => void }[] = [];
  private writing = false;

  constructor(
    private readonly write: (items: T[]) => Promise<R[]>,
    private readonly max = 100,
  ) {}

  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      this.next();
    });
  }

  private next(): void {
    if (this.writing || !this.pending.length) return;
    this.writing = true;
    const batch = this.pending.splice(0, this.max);
    this.write(batch.map((b) => b.item))
      .then(
        (results) => batch.forEach((b, i) => b.resolve(results[i])),
        (error: unknown) => batch.forEach((b) => b.reject(error)),
      )
      .finally(() => {
        this.writing = false;
        this.next();
      });
  }
}
