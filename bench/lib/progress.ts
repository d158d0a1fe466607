/**
 * What the harness is doing, while it does it: one rewritten status line on a terminal, plain
 * timestamped lines otherwise (CI logs), never more than one status line every few seconds.
 */
export class Progress {
  private readonly tty: boolean;
  private readonly started = Date.now();
  private phaseName = '';
  private phaseStarted = Date.now();
  private status = '';
  private lastPlain = 0;
  private timer: NodeJS.Timeout | null = null;
  private lineShown = false;
  /** Each phase and how long it took, for the summary at the end. */
  readonly timings: { phase: string; seconds: number }[] = [];

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {
    this.tty = Boolean(stream.isTTY) && process.env.TERM !== 'dumb';
    if (this.tty) {
      this.timer = setInterval(() => this.render(), 250);
      this.timer.unref();
    }
  }

  /** A new step: printed as a line of its own, then its status updates follow. */
  phase(name: string): void {
    this.endPhase();
    this.phaseName = name;
    this.phaseStarted = Date.now();
    this.status = '';
    this.log(`▶ ${name}`);
  }

  /** The current step's live figure (rate, count…). */
  update(status: string): void {
    this.status = status;
    if (!this.tty && Date.now() - this.lastPlain >= 5000) {
      this.lastPlain = Date.now();
      this.write(`  … ${this.phaseName}: ${status}\n`);
    }
  }

  /** A permanent line (results, warnings). */
  log(line: string): void {
    this.clear();
    this.write(`${this.stamp()} ${line}\n`);
    this.lastPlain = Date.now();
    this.render();
  }

  /** Closes the current phase's timing. */
  endPhase(): void {
    if (this.phaseName) this.timings.push({ phase: this.phaseName, seconds: (Date.now() - this.phaseStarted) / 1000 });
    this.phaseName = '';
  }

  stop(): void {
    this.endPhase();
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.clear();
  }

  private render(): void {
    if (!this.tty || !this.phaseName) return;
    const spin = '⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏'[Math.floor(Date.now() / 100) % 10];
    const elapsed = ((Date.now() - this.phaseStarted) / 1000).toFixed(0);
    const line = `${spin} [${this.clock()}] ${this.phaseName} ${elapsed}s${this.status ? ` — ${this.status}` : ''}`;
    const width = this.stream.columns || 120;
    this.write(`\r\x1b[2K${line.slice(0, width - 1)}`);
    this.lineShown = true;
  }

  private clear(): void {
    if (this.tty && this.lineShown) this.write('\r\x1b[2K');
    this.lineShown = false;
  }

  private stamp(): string {
    return `[${this.clock()}]`;
  }

  private clock(): string {
    const s = Math.floor((Date.now() - this.started) / 1000);
    return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
  }

  private write(text: string): void {
    this.stream.write(text);
  }
}
