import { join } from 'node:path';
import { cpuMeter, CpuGroups, perUnit, postgresFor } from '../lib/cpu';
import { count, load, LoadResult, statusSummary } from '../lib/load';
import { describePinning, pinned } from '../lib/pin';
import { describePeaks, freePort, peakMemoryDuring, startNode, waitFor, waitForHttp } from '../lib/proc';
import { profiled } from '../lib/profiling';
import { ratioOf, round } from '../lib/results';
import type { Stack } from '../lib/stack';
import { clickIdFrom, createLink, Network } from './seed';

const CONNECTIONS = 32;
const RATIO_TARGET = 0.5;
export const BASELINE_TABLE = 'bench_raw_conversions';

export interface Ingested {
  /** The conversions our postback created (pending, attributed), for the commission workload. */
  conversionIds: string[];
}

function requestsFor(token: string, clickIds: string[], tag: string) {
  return clickIds.map((cid) => ({
    method: 'GET',
    path: `/postback?token=${encodeURIComponent(token)}&click_id=${cid}&goal=sale&txn_id=${tag}-[<id>]&amount=49.99&currency=USD`,
  }));
}

async function run(stack: Stack, label: string, url: string, requests: { method: string; path: string }[], seconds: number): Promise<LoadResult> {
  return load({ url, connections: CONNECTIONS, duration: seconds, requests, idReplacement: true, onTick: (t) => stack.progress.update(`${label}: ${t}`) });
}

const CPU_LABELS = { api: 'API', worker: 'worker', postgres: 'PostgreSQL', redis: 'Redis', server: 'bare server', load: 'autocannon' };

/** Runs `measured`, counting the CPU seconds of `groups` (from /proc) over it. */
async function metered<T>(groups: CpuGroups, measured: () => Promise<T>): Promise<{ result: T; cpu: Record<string, number> }> {
  const meter = cpuMeter(groups);
  const result = await measured();
  return { result, cpu: meter.stop() };
}

/**
 * `GET /postback` with a token and a genuine click id, each request a new txn_id, at 32
 * connections, against a node:http + raw pg server doing one INSERT per request. The worker's
 * queues are paused meanwhile, so the figure is the API's alone; the conversions wait for the
 * commission workload.
 */
export async function postbackWorkload(stack: Stack, network: Network): Promise<Ingested> {
  const seconds = stack.options.quick ? 1.5 : 10;
  const warm = stack.options.quick ? 0.5 : 2;
  const token = network.advertiser.postbackToken as string;
  // Genuine click ids on a few links of different affiliates.
  const clickIds: string[] = [];
  for (const affiliate of network.affiliates) {
    const link = await createLink(stack, affiliate, network.offer.id);
    for (let i = 0; i < 4; i++) clickIds.push(await clickIdFrom(stack, link.code));
  }

  stack.progress.phase('postback ingestion: baseline (node:http + one pg INSERT per request)');
  await stack.db.query(`DROP TABLE IF EXISTS ${BASELINE_TABLE}`);
  await stack.db.query(`CREATE TABLE ${BASELINE_TABLE} (LIKE conversions INCLUDING ALL)`);
  const port = await freePort();
  const baselineServer = startNode('baseline-postback', stack.script('bench/baselines/postback-server.js'), {
    args: ['--port', String(port), '--database', stack.paths.dbUrl, '--token', token, '--advertiser', network.advertiser.id, '--table', BASELINE_TABLE],
    env: { PATH: process.env.PATH, NODE_ENV: 'production' },
    logFile: join(stack.paths.runDir, 'baseline-postback.log'),
    cwd: stack.paths.repo,
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  await waitForHttp(`${baseUrl}/postback?token=${encodeURIComponent(token)}&goal=sale&txn_id=warmup&currency=USD`, 10_000, baselineServer, 201);
  await run(stack, 'baseline warm-up', baseUrl, requestsFor(token, clickIds, 'bw'), warm);
  const postgres = postgresFor(stack.paths.dbName);
  const {
    result: { result: baseline, cpu: baseCpu },
    pinning: basePinning,
  } = await pinned([baselineServer.pid], () =>
    metered({ server: (pid) => pid === baselineServer.pid, postgres, load: (pid) => pid === process.pid }, () =>
      run(stack, 'baseline', baseUrl, requestsFor(token, clickIds, 'b'), seconds),
    ),
  );
  await baselineServer.stop();
  await stack.db.query(`DROP TABLE IF EXISTS ${BASELINE_TABLE}`);

  stack.progress.phase('postback ingestion: ours (GET /postback, 32 connections, worker paused)');
  await stack.queue('commissions').pause();
  await stack.queue('postbacks').pause();
  const before = new Date();
  await run(stack, 'warm-up', stack.baseUrl, requestsFor(token, clickIds, 'ow'), warm);
  const oursGroups: CpuGroups = {
    api: (pid) => pid === stack.api.pid,
    worker: (pid) => pid === stack.worker.pid,
    postgres,
    redis: (_pid, comm) => comm.startsWith('redis-server'),
    load: (pid) => pid === process.pid,
  };
  const {
    result: {
      result: { result: ours, cpu: oursCpu },
      pinning: oursPinning,
    },
    peakMb,
  } = await peakMemoryDuring({ API: stack.api.pid, worker: stack.worker.pid }, () =>
    pinned([stack.api.pid], () =>
      metered(oursGroups, () => profiled(stack, stack.api, 'postback', () => run(stack, 'ours', stack.baseUrl, requestsFor(token, clickIds, 'o'), seconds))),
    ),
  );
  const created = count(ours, 201);
  const rate = created / ours.seconds;
  const baseRate = count(baseline, 201) / baseline.seconds;
  const ratio = ratioOf(rate, baseRate);
  const rows: { id: string; status: string }[] = (
    await stack.db.query(`SELECT id, status FROM conversions WHERE advertiser_id = $1 AND created_at >= $2`, [network.advertiser.id, before])
  ).rows;
  const pending = rows.filter((r) => r.status === 'pending').length;
  stack.record({
    name: 'postback ingestion (32 conn)',
    ours: round(rate),
    baseline: round(baseRate),
    ratio,
    target: `≥ ${RATIO_TARGET}×`,
    pass: ratio !== null && ratio >= RATIO_TARGET && created === ours.requests,
    p50: ours.p50,
    p99: ours.p99,
    unit: 'conv/s',
    note: `baseline p50 ${baseline.p50} / p99 ${baseline.p99} ms; ${rows.length} conversions stored (${pending} pending)${created === ours.requests ? '' : `; ours answered ${statusSummary(ours)}`}; CPU µs per conversion: ours ${perUnit(oursCpu, created, CPU_LABELS)}; baseline ${perUnit(baseCpu, count(baseline, 201), CPU_LABELS)}; ours ${describePinning(oursPinning, 'API')}, baseline ${describePinning(basePinning, 'baseline server')}; peak RSS during the load: ${describePeaks(peakMb)}`,
  });
  // Everything accepted is in the outbox; let the relay hand it to the (paused) queues.
  await waitFor('the outbox relay', async () => (await stack.db.query(`SELECT count(*)::int AS n FROM outbox WHERE relayed_at IS NULL`)).rows[0].n === 0, 120_000, 200);
  return { conversionIds: rows.filter((r) => r.status === 'pending').map((r) => r.id) };
}
