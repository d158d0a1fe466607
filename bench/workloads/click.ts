import { cpus } from 'node:os';
import { join } from 'node:path';
import { cpuMeter, CpuGroups, perUnit, postgresFor } from '../lib/cpu';
import { count, load, LoadResult, statusSummary } from '../lib/load';
import { describePeaks, freePort, peakMemoryDuring, Service, startNode, waitFor, waitForHttp } from '../lib/proc';
import { describePinning, pinned } from '../lib/pin';
import { profiled } from '../lib/profiling';
import { ratioOf, round } from '../lib/results';
import type { Stack } from '../lib/stack';
import { createLink, Network } from './seed';

export const CONNECTIONS = 64;
const P99_TARGET_MS = 25;
const RATIO_TARGET = 0.6;

async function startRedirectBaseline(stack: Stack, name: string): Promise<{ service: Service; url: string }> {
  const port = await freePort();
  const service = startNode(name, stack.script('bench/baselines/redirect-server.js'), {
    args: ['--port', String(port)],
    env: { PATH: process.env.PATH, NODE_ENV: 'production' },
    logFile: join(stack.paths.runDir, `${name}.log`),
    cwd: stack.paths.repo,
  });
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/c/warmup`, 10_000, service, 302);
  return { service, url };
}

/** A warm-up (JIT, caches, pools), then the measured run. */
async function measure(
  stack: Stack,
  label: string,
  urls: string[],
  path: string,
  around?: (run: () => Promise<LoadResult>) => Promise<LoadResult>,
  short = false,
): Promise<LoadResult & { warm302: number }> {
  const seconds = stack.options.quick ? 1 : short ? 5 : 10;
  const warm = stack.options.quick ? 0.5 : 2;
  const requests = [{ method: 'GET', path }];
  stack.progress.update(`${label}: warm-up`);
  const warmed = await load({ url: urls, connections: CONNECTIONS, duration: warm, requests });
  const run = () => load({ url: urls, connections: CONNECTIONS, duration: seconds, requests, onTick: (t) => stack.progress.update(`${label}: ${t}`) });
  return { ...(await (around ? around(run) : run())), warm302: count(warmed, 302) };
}

const CPU_LABELS = { api: 'API', worker: 'worker', postgres: 'PostgreSQL', redis: 'Redis', server: 'bare server', load: 'autocannon' };

/** Wraps a measured run to count the CPU time of `groups` over it. */
function metered(groups: CpuGroups, into: (seconds: Record<string, number>) => void) {
  return async (run: () => Promise<LoadResult>): Promise<LoadResult> => {
    const meter = cpuMeter(groups);
    try {
      return await run();
    } finally {
      into(meter.stop());
    }
  };
}

/** Waits until the clicks of `linkId` in the database reach `expected` (the buffer flushes every ≤ 200 ms). */
async function storedClicks(stack: Stack, linkId: string, expected: number): Promise<number> {
  let stored = 0;
  await waitFor(
    'clicks to be flushed',
    async () => {
      stored = (await stack.db.query(`SELECT count(*)::int AS n FROM clicks WHERE link_id = $1 AND clicked_at > now() - interval '1 day'`, [linkId])).rows[0].n;
      return stored >= expected;
    },
    10_000,
    100,
  ).catch(() => undefined);
  return stored;
}

/**
 * `GET /c/:code` at 64 connections against a bare node:http server answering the same 302, then
 * the same with two API processes (and two bare servers) on this machine.
 */
export async function clickWorkload(stack: Stack, network: Network): Promise<void> {
  const affiliate = network.affiliates[0];
  const link = await createLink(stack, affiliate, network.offer.id, { channel: 'email', sub1: 'default' });
  const path = `/c/${link.code}?sub1=bench&sub2=run`;

  stack.progress.phase('click redirect: baseline (bare node:http 302)');
  const base = await startRedirectBaseline(stack, 'baseline-redirect');
  let baseCpu: Record<string, number> = {};
  const { result: baseline, pinning: basePinning } = await pinned([base.service.pid], () =>
    measure(
      stack,
      'baseline',
      [base.url],
      path,
      metered({ server: (pid) => pid === base.service.pid, load: (pid) => pid === process.pid }, (s) => (baseCpu = s)),
    ),
  );
  await base.service.stop();

  stack.progress.phase('click redirect: ours (GET /c/:code, 64 connections)');
  const before = (await stack.db.query(`SELECT count(*)::int AS n FROM clicks WHERE link_id = $1 AND clicked_at > now() - interval '1 day'`, [link.id])).rows[0].n as number;
  let oursCpu: Record<string, number> = {};
  const oursGroups: CpuGroups = {
    api: (pid) => pid === stack.api.pid,
    worker: (pid) => pid === stack.worker.pid,
    postgres: postgresFor(stack.paths.dbName),
    redis: (_pid, comm) => comm.startsWith('redis-server'),
    load: (pid) => pid === process.pid,
  };
  const {
    result: { result: ours, pinning: oursPinning },
    peakMb,
  } = await peakMemoryDuring({ API: stack.api.pid, worker: stack.worker.pid }, () =>
    pinned([stack.api.pid], () =>
      measure(stack, 'ours', [stack.baseUrl], path, (run) => profiled(stack, stack.api, 'click-redirect', () => metered(oursGroups, (s) => (oursCpu = s))(run))),
    ),
  );
  const served302 = count(ours, 302);
  const wrong = ours.requests - served302;
  const rps = served302 / ours.seconds;
  const baseRps = count(baseline, 302) / baseline.seconds;
  const ratio = ratioOf(rps, baseRps);
  // Every 302 of the warm-up and the run is a stored click once the buffer has flushed.
  const served = ours.warm302 + served302;
  const stored = (await storedClicks(stack, link.id, before + served)) - before;
  stack.record({
    name: 'click redirect (64 conn)',
    ours: round(rps),
    baseline: round(baseRps),
    ratio,
    target: `≥ ${RATIO_TARGET}×, p99 ≤ ${P99_TARGET_MS} ms`,
    pass: ratio !== null && ratio >= RATIO_TARGET && ours.p99 <= P99_TARGET_MS && wrong === 0 && stored >= served,
    p50: ours.p50,
    p99: ours.p99,
    unit: 'req/s',
    note: `baseline p50 ${baseline.p50} / p99 ${baseline.p99} ms; ${wrong ? `${wrong} non-302 answers (${statusSummary(ours)}); ` : ''}${stored} clicks stored for ${served} 302s received${stored > served ? ` (+${stored - served} requests in flight when autocannon stopped)` : ''}; CPU µs per 302: ours ${perUnit(oursCpu, served302, CPU_LABELS)}; baseline ${perUnit(baseCpu, count(baseline, 302), CPU_LABELS)}; ours ${describePinning(oursPinning, 'API')}, baseline ${describePinning(basePinning, 'bare server')}; peak RSS during the load: ${describePeaks(peakMb)}`,
  });

  stack.progress.phase('click redirect: two API processes');
  const port2 = await freePort();
  const api2 = await stack.startApi(port2, 'api2');
  try {
    const bases = [await startRedirectBaseline(stack, 'baseline-redirect-1'), await startRedirectBaseline(stack, 'baseline-redirect-2')];
    const baseline2 = await measure(
      stack,
      'baseline ×2',
      bases.map((b) => b.url),
      path,
      undefined,
      true,
    );
    await Promise.all(bases.map((b) => b.service.stop()));
    const ours2 = await measure(stack, 'ours ×2', [stack.baseUrl, `http://127.0.0.1:${port2}`], path, undefined, true);
    const rps2 = count(ours2, 302) / ours2.seconds;
    const baseRps2 = count(baseline2, 302) / baseline2.seconds;
    stack.record({
      name: 'click redirect, 2 API processes (64 conn)',
      ours: round(rps2),
      baseline: round(baseRps2),
      ratio: ratioOf(rps2, baseRps2),
      target: 'recorded (scale-out)',
      pass: null,
      p50: ours2.p50,
      p99: ours2.p99,
      unit: 'req/s',
      note: `${round(rps2 / rps, 2)}× one API process; 2 bare servers ${round(baseRps2 / baseRps, 2)}× one; autocannon and both processes share ${cpus().length} cores${count(ours2, 302) === ours2.requests ? '' : `; ${statusSummary(ours2)}`}`,
    });
  } finally {
    await api2.stop();
  }
}
