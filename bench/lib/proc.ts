import { ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A child process the harness started: its log goes to a file, its exit is a promise. */
export class Service {
  readonly exited: Promise<Exit>;
  private exit: Exit | null = null;

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
    readonly logFile: string,
  ) {
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      });
    });
  }

  get pid(): number {
    return this.child.pid as number;
  }

  get running(): boolean {
    return this.exit === null;
  }

  signal(signal: NodeJS.Signals): void {
    if (this.running) this.child.kill(signal);
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves with how it ended. */
  async stop(graceMs = 15_000): Promise<Exit> {
    if (!this.running) return this.exit as Exit;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    const exit = await this.exited;
    clearTimeout(timer);
    return exit;
  }

  /** The last lines of the log, for error messages: warnings and errors first (pino levels ≥ 40, or plain text). */
  tail(lines = 12): string {
    if (!existsSync(this.logFile)) return '';
    const all = readFileSync(this.logFile, 'utf8').trimEnd().split('\n');
    const notable = all.filter((l) => !/^\{"level":(10|20|30),/.test(l));
    return (notable.length ? notable : all).slice(-lines).join('\n');
  }
}

const live = new Set<Service>();

/** Starts `node [nodeArgs] script [args]` with its stdout and stderr appended to `logFile`. */
export function startNode(name: string, script: string, options: { args?: string[]; nodeArgs?: string[]; env: NodeJS.ProcessEnv; logFile: string; cwd: string }): Service {
  const fd = openSync(options.logFile, 'a');
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), script, ...(options.args ?? [])], {
    cwd: options.cwd,
    env: options.env,
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  const service = new Service(name, child, options.logFile);
  live.add(service);
  void service.exited.then(() => live.delete(service));
  return service;
}

/** Every child still running, for the last-resort cleanup. */
export function liveServices(): Service[] {
  return [...live];
}

/** A port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `probe` until it answers true; throws with `what` after `timeoutMs`. */
export async function waitFor(what: string, probe: () => Promise<boolean>, timeoutMs: number, everyMs = 100, service?: Service): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (service && !service.running) throw new Error(`${service.name} exited while waiting for ${what}:\n${service.tail()}`);
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${service ? `; ${service.name} log:\n${service.tail()}` : ''}`);
    await sleep(everyMs);
  }
}

/** Waits for an HTTP answer with `status` from `url`. */
export function waitForHttp(url: string, timeoutMs: number, service?: Service, status = 200): Promise<void> {
  return waitFor(
    url,
    async () => {
      const res = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      return res.status === status;
    },
    timeoutMs,
    200,
    service,
  );
}

/** Resident memory of a process, from /proc (Linux): the current and the peak since the last reset, in bytes. */
export function memoryOf(pid: number): { rss: number; peak: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
    return { rss: kb('VmRSS'), peak: kb('VmHWM') };
  } catch {
    return null;
  }
}

/** Resets a process's peak RSS (VmHWM) so the next reading covers only what follows; false where not allowed. */
export function resetPeakMemory(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** Samples a process's RSS every `everyMs` until stopped; answers the highest seen. */
export function sampleMemory(pid: number, everyMs = 50): { stop: () => number } {
  let max = 0;
  const take = () => {
    const m = memoryOf(pid);
    if (m && m.rss > max) max = m.rss;
  };
  take();
  const timer = setInterval(take, everyMs);
  return {
    stop: () => {
      clearInterval(timer);
      take();
      return max;
    },
  };
}

/**
 * Runs `run` and answers the peak RSS of each named process over it, in MB: the kernel's peak
 * (VmHWM after a reset) where it may be reset, and 50 ms samples in any case.
 */
export async function peakMemoryDuring<T>(pids: Record<string, number>, run: () => Promise<T>): Promise<{ result: T; peakMb: Record<string, number> }> {
  const watched = Object.entries(pids).map(([name, pid]) => ({ name, pid, reset: resetPeakMemory(pid), sampler: sampleMemory(pid), sampled: 0 }));
  let result: T;
  try {
    result = await run();
  } finally {
    for (const w of watched) w.sampled = w.sampler.stop();
  }
  const peakMb: Record<string, number> = {};
  for (const w of watched) {
    const sampled = w.sampled;
    const peak = w.reset ? Math.max(memoryOf(w.pid)?.peak ?? 0, sampled) : sampled;
    peakMb[w.name] = Math.round((peak / 2 ** 20) * 10) / 10;
  }
  return { result, peakMb };
}

/** "API 142.1 MB, worker 120.3 MB". */
export const describePeaks = (peakMb: Record<string, number>) =>
  Object.entries(peakMb)
    .map(([name, mb]) => `${name} ${mb} MB`)
    .join(', ');
