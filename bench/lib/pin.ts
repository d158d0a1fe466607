import { execFile } from 'node:child_process';
import { cpus } from 'node:os';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * Where a measured load ran: the service under test (ours or its baseline) on the first core,
 * autocannon (this process) on the second, everything else (PostgreSQL, Redis, the worker)
 * wherever the scheduler puts it. Without it, a ratio on two cores measures how the scheduler
 * shares them between the load generator and the service as much as the service itself.
 */
export interface Pinning {
  service: string;
  load: string;
}

const ALL = () => `0-${cpus().length - 1}`;

/** The layout `pinned` uses, or null where it cannot pin (one core, no taskset, BENCH_PIN=0). */
export function pinning(): Pinning | null {
  if (process.env.BENCH_PIN === '0' || cpus().length < 2 || process.platform !== 'linux') return null;
  return { service: '0', load: '1' };
}

async function taskset(cpuList: string, pid: number): Promise<void> {
  // -a: every thread of the process (libuv's pool, V8's GC and compiler threads).
  await run('taskset', ['-a', '-p', '-c', cpuList, String(pid)]);
}

/**
 * Runs `measure` with `services` pinned to the service core and this process to the load core,
 * and frees them all afterwards. Answers the layout used (null: not pinned), for the figure's note.
 */
export async function pinned<T>(services: number[], measure: () => Promise<T>): Promise<{ result: T; pinning: Pinning | null }> {
  const layout = pinning();
  if (!layout) return { result: await measure(), pinning: null };
  try {
    for (const pid of services) await taskset(layout.service, pid);
    await taskset(layout.load, process.pid);
  } catch (error) {
    process.stderr.write(`bench: could not pin with taskset (${(error as Error).message.split('\n')[0]}); measuring unpinned\n`);
    await release(services);
    return { result: await measure(), pinning: null };
  }
  try {
    return { result: await measure(), pinning: layout };
  } finally {
    await release(services);
  }
}

async function release(services: number[]): Promise<void> {
  for (const pid of [...services, process.pid]) await taskset(ALL(), pid).catch(() => undefined);
}

/** "API on core 0, autocannon on core 1" for a note. */
export function describePinning(layout: Pinning | null, service: string): string {
  return layout ? `${service} pinned to core ${layout.service}, autocannon to core ${layout.load} (taskset), the rest unpinned` : 'unpinned';
}
