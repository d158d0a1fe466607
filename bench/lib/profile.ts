import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  startTime: number;
  endTime: number;
}

export interface Frame {
  frame: string;
  /** Percent of all samples. */
  self: number;
  total: number;
}

export interface ProfileSummary {
  samples: number;
  seconds: number;
  /** Share of samples where the process was idle (waiting for I/O). */
  idle: number;
  topSelf: Frame[];
  /** Inclusive time of the app's own functions (dist/src), the "which of our calls costs" view. */
  topApp: Frame[];
  /** Self time per package (node_modules/<name>), node internals, our code, V8/GC. */
  byPackage: Frame[];
}

function where(url: string): string {
  if (!url) return '';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) return url.slice(nm + 'node_modules/'.length);
  const src = url.indexOf('/dist/');
  if (src >= 0) return url.slice(src + 1);
  return url.replace(/^file:\/\//, '');
}

function packageOf(url: string): string {
  if (!url) return '(v8/native)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  if (url.startsWith('node:')) return '(node core)';
  if (url.includes('/dist/src/')) return '(afflux src)';
  return url;
}

const label = (f: CallFrame) => `${f.functionName || '(anonymous)'}${f.url ? ` ${where(f.url)}:${f.lineNumber + 1}` : ''}`;

/** Reads a .cpuprofile and answers where the time went. */
export function summarize(file: string, top = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const total = profile.samples.length || 1;
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const packages = new Map<string, number>();
  let idle = 0;
  for (const id of profile.samples) {
    const node = byId.get(id);
    if (!node) continue;
    const name = node.callFrame.functionName;
    if (name === '(idle)' || name === '(program)') {
      if (name === '(idle)') idle++;
      continue;
    }
    const key = label(node.callFrame);
    self.set(key, (self.get(key) ?? 0) + 1);
    const pkg = name === '(garbage collector)' ? '(garbage collector)' : packageOf(node.callFrame.url);
    packages.set(pkg, (packages.get(pkg) ?? 0) + 1);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const f = (byId.get(at) as ProfileNode).callFrame;
      if (!f.url.includes('/dist/src/')) continue;
      const k = label(f);
      if (seen.has(k)) continue;
      seen.add(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + 1);
    }
  }
  const topOf = (m: Map<string, number>, n: number): Frame[] =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([frame, hits]) => ({ frame, self: (100 * hits) / total, total: (100 * hits) / total }));
  return {
    samples: total,
    seconds: (profile.endTime - profile.startTime) / 1e6,
    idle: (100 * idle) / total,
    topSelf: topOf(self, top),
    topApp: topOf(inclusive, top),
    byPackage: topOf(packages, 12),
  };
}

export function formatSummary(title: string, s: ProfileSummary): string {
  const pct = (v: number) => `${v.toFixed(1).padStart(5)}%`;
  return [
    `${title}: ${s.samples} samples over ${s.seconds.toFixed(1)} s, idle ${s.idle.toFixed(1)}%`,
    '  top frames by self time:',
    ...s.topSelf.map((f) => `    ${pct(f.self)}  ${f.frame}`),
    '  self time by package:',
    ...s.byPackage.map((f) => `    ${pct(f.self)}  ${f.frame}`),
    '  our functions by inclusive time:',
    ...s.topApp.map((f) => `    ${pct(f.total)}  ${f.frame}`),
  ].join('\n');
}

// `node dist-dev/bench/lib/profile.js file.cpuprofile [top]`: the same summary for any profile.
if (require.main === module) {
  const [file, top] = process.argv.slice(2);
  if (!file) {
    process.stderr.write('usage: node dist-dev/bench/lib/profile.js <file.cpuprofile> [top]\n');
    process.exit(2);
  }
  process.stdout.write(`${formatSummary(file, summarize(file, Number(top) || 25))}\n`);
}
