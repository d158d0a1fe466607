/**
 * Group commit: calls arriving in the same tick, or while a batch is being written, are written
 * together in the next batch, so N concurrent callers cost one transaction instead of N. Each
 * caller gets its own result; when a batch fails, each of its calls is run again alone, so an
 * error reaches only the caller whose input caused it.
 */
export interface GroupCommitOptions<I> {
  /** How much one batch takes at most, counted with `sizeOf` (1 per input by default); a bigger input goes alone. */
  maxBatch?: number;
  sizeOf?: (input: I) => number;
}

interface Pending<I, R> {
  input: I;
  resolve: (result: R) => void;
  reject: (error: unknown) => void;
}

export class GroupCommit<I, R> {
  private queue: Pending<I, R>[] = [];
  private busy = false;
  private readonly maxBatch: number;
  private readonly sizeOf: (input: I) => number;

  /** `write` takes the inputs of one batch and answers one result per input, in order. */
  constructor(
    private readonly write: (inputs: I[]) => Promise<R[]>,
    options: GroupCommitOptions<I> = {},
  ) {
    this.maxBatch = options.maxBatch ?? 500;
    this.sizeOf = options.sizeOf ?? (() => 1);
  }

  submit(input: I): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ input, resolve, reject });
      if (!this.busy) {
        this.busy = true;
        // The rest of this tick joins the batch.
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    while (this.queue.length) {
      const batch = this.take();
      try {
        const results = await this.write(batch.map((p) => p.input));
        batch.forEach((p, i) => p.resolve(results[i]));
      } catch (error) {
        if (batch.length === 1) batch[0].reject(error);
        else for (const p of batch) await this.write([p.input]).then(([r]) => p.resolve(r), p.reject);
      }
    }
    this.busy = false;
  }

  private take(): Pending<I, R>[] {
    let size = this.sizeOf(this.queue[0].input);
    let n = 1;
    while (n < this.queue.length && size + this.sizeOf(this.queue[n].input) <= this.maxBatch) size += this.sizeOf(this.queue[n++].input);
    return this.queue.splice(0, n);
  }
}
