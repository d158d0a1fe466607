/**
 * `npm run bench`: the performance figures of bench/README.md, each beside its baseline measured in the same run.
 *
 *   node dist-dev/bench/run.js [--quick] [--only click,postback,…] [--profile] [--keep]
 *
 * Prepares its own database (afflux_bench_<id>) and Redis prefix, starts the built service as a
 * user runs it (API with RUN_WORKERS=false, a separate worker, the Stripe emulator), seeds it
 * through the HTTP API, runs the workloads, prints the table and writes bench/results.json.
 * See bench/README.md.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createDatabase, databaseUrl, deleteRedisKeys, dropDatabase, pool } from './lib/db';
import { liveServices } from './lib/proc';
import { Progress } from './lib/progress';
import { Figure, textTable, updateReadme, writeJson } from './lib/results';
import { Options, RunPaths, Stack } from './lib/stack';
import { clickWorkload } from './workloads/click';
import { commissionsWorkload } from './workloads/commissions';
import { durabilityWorkload } from './workloads/durability';
import { payoutWorkload, preparePayouts } from './workloads/payouts';
import { postbackWorkload } from './workloads/postback';
import { growReports, prepareReports, reportsWorkload } from './workloads/reports';
import { seedNetwork } from './workloads/seed';
import { prepareStatement, statementWorkload } from './workloads/statement';
import { qualityWorkload } from './workloads/quality';

const WORKLOADS = ['click', 'durability', 'postback', 'commissions', 'quality', 'reports', 'statement', 'payouts'] as const;
const USAGE = `usage: node dist-dev/bench/run.js [--quick] [--only ${WORKLOADS.join(',')}] [--profile] [--keep]
  --quick     seconds-long smoke run with small counts: checks the harness, not the figures
  --only      run only these workloads (comma-separated)
  --profile   CPU-profile the API process during the measured loads (bench/profiles/)
  --keep      keep the database, Redis keys and bench/.run/<id> (logs) afterwards`;

function parseOptions(argv: string[]): Options {
  const options: Options = { quick: false, only: null, profile: false, keep: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--quick') options.quick = true;
    else if (arg === '--profile') options.profile = true;
    else if (arg === '--keep') options.keep = true;
    else if (arg === '--only' || arg.startsWith('--only=')) {
      const value = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[++i];
      const names = (value ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      const unknown = names.filter((n) => !(WORKLOADS as readonly string[]).includes(n));
      if (!names.length || unknown.length) throw new Error(`--only: unknown workload ${unknown.join(', ') || '(none given)'}\n${USAGE}`);
      options.only = new Set(names);
    } else if (arg === '--help' || arg === '-h') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    } else throw new Error(`unknown argument ${arg}\n${USAGE}`);
  }
  return options;
}

function runId(): string {
  const d = new Date();
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}_${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}_${process.pid}`;
}

function paths(repo: string): RunPaths {
  const id = runId();
  const serverUrl = process.env.BENCH_DATABASE_SERVER_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const dbName = `afflux_bench_${id}`;
  const runDir = join(repo, 'bench', '.run', id);
  return {
    id,
    repo,
    runDir,
    dist: join(runDir, 'dist'),
    serverUrl,
    dbName,
    dbUrl: databaseUrl(serverUrl, dbName),
    redisUrl: process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379',
    prefix: `afxbench${id.replace(/_/g, '')}`,
  };
}

/** Files under src/ that are not TypeScript (templates, assets) and are missing from the build: copied, listed. */
function copyMissingAssets(src: string, dist: string, at = ''): string[] {
  const copied: string[] = [];
  for (const entry of readdirSync(join(src, at), { withFileTypes: true })) {
    const rel = join(at, entry.name);
    if (entry.isDirectory()) copied.push(...copyMissingAssets(src, dist, rel));
    else if (!entry.name.endsWith('.ts') && !existsSync(join(dist, rel))) {
      mkdirSync(dirname(join(dist, rel)), { recursive: true });
      cpSync(join(src, rel), join(dist, rel));
      copied.push(rel);
    }
  }
  return copied;
}

function machine(): string {
  return `${cpus().length} cores (${cpus()[0]?.model.trim() ?? 'unknown CPU'}), ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}`;
}

/** The 1-minute load average: other work on the machine moves every absolute figure. */
const load = () => loadavg()[0].toFixed(1);

/** Runs one workload; a failure becomes a failed figure and the run goes on. */
async function step(stack: Stack, name: string, fn: () => Promise<void>): Promise<boolean> {
  try {
    await fn();
    return true;
  } catch (error) {
    const message = (error as Error).message ?? String(error);
    stack.progress.log(`✗ ${name} failed: ${message.split('\n')[0]}`);
    if (message.includes('\n')) process.stderr.write(`${message.split('\n').slice(1).join('\n')}\n`);
    stack.record({ name, ours: null, baseline: null, ratio: null, target: '—', pass: false, note: `could not run: ${message.split('\n')[0]}` });
    return false;
  }
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  const repo = resolve(__dirname, '..', '..');
  const built = join(repo, 'dist');
  if (!existsSync(join(built, 'src', 'main.js'))) throw new Error('dist/src/main.js is missing: run `npm run build` first (npm run bench does)');
  const progress = new Progress();
  const p = paths(repo);
  const startedAt = new Date();
  const loadBefore = load();
  progress.log(`afflux bench ${p.id}${options.quick ? ' (quick smoke run: figures are not meaningful)' : ''} on ${machine()}, load average ${loadBefore}`);

  // The services run from a private copy of the build: another `npm run build` meanwhile cannot pull it away.
  mkdirSync(p.runDir, { recursive: true });
  cpSync(built, p.dist, { recursive: true });
  // The dev tools (the Stripe emulator, the bench's own scripts) are not in the production build: `npm run build:dev` makes them.
  for (const dir of ['test', 'bench']) cpSync(join(repo, 'dist-dev', dir), join(p.dist, dir), { recursive: true });
  const assets = copyMissingAssets(join(repo, 'src'), join(p.dist, 'src'));
  if (assets.length)
    progress.log(`warning: the build left out ${assets.length} non-TypeScript file(s) under src/ (${assets.slice(0, 3).join(', ')}…); copied into this run's build`);

  progress.phase(`database ${p.dbName}`);
  await createDatabase(p.serverUrl, p.dbName);
  const db = pool(p.dbUrl, 8);
  const stack = new Stack(options, p, progress, db);
  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    progress.phase('cleaning up');
    await Promise.all(liveServices().map((s) => s.stop(20_000)));
    await stack.closeQueues();
    // A query still running (an interrupted workload) would hold end() up: dropping the database ends it.
    void db.end().catch(() => undefined);
    if (options.keep) {
      progress.log(`kept: database ${p.dbName}, Redis keys {${p.prefix}}*, logs in ${p.runDir}`);
      return;
    }
    await dropDatabase(p.serverUrl, p.dbName).catch((e) => progress.log(`could not drop ${p.dbName}: ${e.message}`));
    await deleteRedisKeys(p.redisUrl, p.prefix).catch((e) => progress.log(`could not delete Redis keys: ${e.message}`));
    rmSync(p.runDir, { recursive: true, force: true });
  };
  const interrupted = (signal: NodeJS.Signals) => {
    progress.log(`${signal}: stopping`);
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);

  try {
    progress.phase('migrations');
    await stack.init();
    execFileSync(process.execPath, [stack.script('src/cli.js'), 'migration:run'], { env: stack.env(0), stdio: ['ignore', 'ignore', 'pipe'] });
    progress.phase('starting the Stripe emulator, the API and the worker');
    await stack.startEmulator();
    await stack.startApi();
    await stack.startWorker();

    progress.phase('seeding through the API');
    const network = await seedNetwork(stack, options.quick ? 2 : 4);

    if (stack.wants('click')) await step(stack, 'click redirect', () => clickWorkload(stack, network));
    if (stack.wants('durability')) await step(stack, 'click durability', () => durabilityWorkload(stack, network));
    if (stack.wants('postback') || stack.wants('commissions')) {
      let ingested: Awaited<ReturnType<typeof postbackWorkload>> | null = null;
      await step(stack, 'postback ingestion', async () => {
        ingested = await postbackWorkload(stack, network);
      });
      if (stack.wants('commissions') && ingested) await step(stack, 'commission posting', () => commissionsWorkload(stack, ingested as never));
    }
    if (stack.wants('quality')) await step(stack, 'quality scoring', () => qualityWorkload(stack, network));
    // Unmeasured preparation runs two at a time, while nothing is measured: first the statement's
    // 1 M ledger lines and the reports' first 1 M clicks (SQL), then the reports' next 9 M clicks
    // (SQL) while the payout run's payees are seeded (HTTP). The payout run goes last: its 10 000
    // transfer.created webhooks keep the service busy after it.
    const prepare = async (what: string, tasks: (Promise<unknown> | null)[]) => {
      const live = tasks.filter((t): t is Promise<unknown> => t !== null);
      if (!live.length) return;
      progress.phase(`preparing ${what}`);
      live.forEach((t) => t.catch(() => undefined));
      await Promise.allSettled(live);
      await stack.settle().catch((e) => progress.log(`queues did not settle: ${e.message}`));
    };
    const statement = stack.wants('statement') ? prepareStatement(stack, network) : null;
    const reports = stack.wants('reports') ? prepareReports(stack, network) : null;
    await prepare('the statement history and the first clicks for reports', [statement, reports]);
    if (statement) await step(stack, 'statement export', async () => statementWorkload(stack, network, await statement));
    if (reports) await step(stack, 'reports at 1 M clicks', async () => reportsWorkload(stack, await reports, 'small'));
    const grown = reports ? reports.then((data) => growReports(stack, data)) : null;
    const payouts = stack.wants('payouts') ? preparePayouts(stack, network) : null;
    await prepare('the payees and 9 M more clicks for reports', [grown, payouts]);
    if (reports) {
      await step(stack, 'reports at 10 M clicks', async () => {
        await grown;
        await reportsWorkload(stack, await reports, 'large');
      });
    }
    if (payouts) await step(stack, 'payout run', async () => payoutWorkload(stack, network, await payouts));
  } finally {
    await cleanup();
  }

  progress.stop();
  const figures: Figure[] = stack.figures;
  const minutes = (Date.now() - startedAt.getTime()) / 60_000;
  const heading = `Run of ${startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC on ${machine()}; load average ${loadBefore} at the start, ${load()} at the end; ${minutes.toFixed(1)} min${options.quick ? ' (--quick)' : ''}${options.only ? ` (--only ${[...options.only].join(',')})` : ''}.`;
  process.stdout.write(`\n${heading}\n\n${textTable(figures)}\n`);
  const slow = progress.timings.filter((t) => t.seconds >= 20).map((t) => `  ${Math.round(t.seconds).toString().padStart(4)} s  ${t.phase}`);
  if (slow.length) process.stdout.write(`\ntime spent (phases of 20 s or more):\n${slow.join('\n')}\n`);
  for (const prof of stack.profiles) process.stdout.write(`\n${prof.text}\n`);
  const resultsFile = join(repo, 'bench', 'results.json');
  writeJson(resultsFile, figures);
  process.stdout.write(`\nwrote ${resultsFile}\n`);
  if (!options.quick && !options.only) {
    if (updateReadme(join(repo, 'bench', 'README.md'), heading, figures)) process.stdout.write('updated the results in bench/README.md\n');
  }
  const failed = figures.filter((f) => f.pass === false);
  // The smoke run checks the harness: every workload ran and produced its figures.
  if (options.quick) return figures.some((f) => f.ours === null && f.pass === false) ? 1 : 0;
  return failed.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`bench: ${error?.stack ?? error}\n`);
    for (const s of liveServices()) s.signal('SIGKILL');
    process.exit(2);
  },
);
