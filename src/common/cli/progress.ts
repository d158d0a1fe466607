/**
 * A one-line progress bar on a TTY (`label [#####.....] 42/100`), and plain lines at every tenth
 * otherwise, so CI logs stay readable.
 */
export class ProgressBar {
  private lastDecile = -1;
  private readonly tty = Boolean(process.stdout.isTTY);

  constructor(
    private readonly label: string,
    private total: number,
    private readonly width = 30,
  ) {}

  update(done: number, total = this.total): void {
    this.total = total;
    const fraction = total > 0 ? Math.min(1, done / total) : 1;
    const filled = Math.floor(fraction * this.width);
    const line = `${this.label.padEnd(28)} [${'#'.repeat(filled)}${'.'.repeat(this.width - filled)}] ${done}/${total}`;
    if (this.tty) {
      process.stdout.write(`\r${line}`);
      return;
    }
    const decile = Math.floor(fraction * 10);
    if (decile !== this.lastDecile) {
      this.lastDecile = decile;
      process.stdout.write(`${line}\n`);
    }
  }

  done(note = ''): void {
    this.update(this.total);
    if (this.tty) process.stdout.write(note ? `  ${note}\n` : '\n');
    else if (note) process.stdout.write(`${this.label}: ${note}\n`);
  }
}

/** Runs `work` over `items` with at most `concurrency` at a time, reporting progress. */
export async function forEachWithProgress<T>(label: string, items: T[], concurrency: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  const bar = new ProgressBar(label, items.length);
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      await work(items[index], index);
      bar.update(++done);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  bar.done();
}
