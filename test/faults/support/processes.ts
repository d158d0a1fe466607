import { ChildProcess, spawn } from 'node:child_process';
import { sleep, waitFor } from './env';

const MAX_LINES = 200_000;

/** A child process with its output kept line by line (the captured logs the secret scan reads). */
export class Proc {
  readonly lines: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly child: ChildProcess;
  private exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;

  constructor(
    readonly name: string,
    command: string,
    args: string[],
    env: Record<string, string>,
  ) {
    this.child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    for (const stream of [this.child.stdout, this.child.stderr]) {
      let rest = '';
      stream?.setEncoding('utf8').on('data', (chunk: string) => {
        const parts = (rest + chunk).split('\n');
        rest = parts.pop() ?? '';
        if (this.lines.length < MAX_LINES) this.lines.push(...parts);
      });
    }
    this.exited = new Promise((done) => this.child.once('exit', (code, signal) => done((this.exit = { code, signal }))));
  }

  get pid(): number {
    return this.child.pid as number;
  }

  get running(): boolean {
    return this.exit === null;
  }

  async waitForLine(pattern: RegExp, timeoutMs = 30_000): Promise<string> {
    return waitFor(
      `${this.name} to print ${pattern}`,
      () => {
        if (!this.running) throw new Error(`${this.name} exited (${JSON.stringify(this.exit)}):\n${this.tail()}`);
        return this.lines.find((l) => pattern.test(l));
      },
      timeoutMs,
      25,
    );
  }

  /** Sends `signal` to this process (never to anything else) and waits for it to end. */
  async kill(signal: NodeJS.Signals = 'SIGKILL', timeoutMs = 20_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.running) this.child.kill(signal);
    const ended = await Promise.race([this.exited, sleep(timeoutMs).then(() => null)]);
    if (ended) return ended;
    this.child.kill('SIGKILL');
    return this.exited;
  }

  tail(n = 30): string {
    return this.lines.slice(-n).join('\n');
  }
}
