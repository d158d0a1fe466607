import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/**
 * CPU time by process group over a measured load, read from /proc (Linux): it shows where a
 * machine's cores went, e.g. how much of a click's cost is the API process and how much the
 * PostgreSQL and Redis servers that store it on the same cores, which a ratio alone hides.
 */
export type CpuGroups = Record<string, (pid: number, comm: string) => boolean>;

interface Seen {
  group: string;
  ticks: number;
}

let ticksPerSecond: number | null = null;

function clockTicks(): number {
  if (ticksPerSecond === null) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** utime + stime of one process in clock ticks, or null once it is gone. */
function ticksOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: the fields start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return null;
  }
}

function commOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

function snapshot(groups: CpuGroups): Map<number, Seen> {
  const seen = new Map<number, Seen>();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const comm = commOf(pid);
    const group = Object.keys(groups).find((name) => groups[name](pid, comm));
    if (!group) continue;
    const ticks = ticksOf(pid);
    if (ticks !== null) seen.set(pid, { group, ticks });
  }
  return seen;
}

/**
 * Starts counting; `stop()` answers CPU seconds per group since then. A process that started
 * in between (a new PostgreSQL backend) counts whole; one that ended in between is lost, so
 * measure over loads that keep their processes.
 */
export function cpuMeter(groups: CpuGroups): { stop: () => Record<string, number> } {
  const start = snapshot(groups);
  return {
    stop: () => {
      const totals: Record<string, number> = Object.fromEntries(Object.keys(groups).map((name) => [name, 0]));
      for (const [pid, now] of snapshot(groups)) totals[now.group] += now.ticks - (start.get(pid)?.ticks ?? 0);
      for (const name of Object.keys(totals)) totals[name] /= clockTicks();
      return totals;
    },
  };
}

/**
 * PostgreSQL's processes that work for one database: its backends (their title names the
 * database) and the server's own writers, which it shares with other databases' work.
 */
export function postgresFor(dbName: string): (pid: number, comm: string) => boolean {
  const shared = /postgres: .*(walwriter|wal writer|checkpointer|background writer|autovacuum)/;
  return (pid, comm) => {
    if (comm !== 'postgres') return false;
    let title = '';
    try {
      title = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
    } catch {
      return false;
    }
    return title.includes(` ${dbName} `) || shared.test(title);
  };
}

/** `API 105, PostgreSQL 40` µs per unit of work, from CPU seconds per group. */
export function perUnit(seconds: Record<string, number>, units: number, labels: Record<string, string>): string {
  return Object.entries(seconds)
    .map(([group, s]) => `${labels[group] ?? group} ${units > 0 ? Math.round((s / units) * 1e6) : '—'}`)
    .join(', ');
}
