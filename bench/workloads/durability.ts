import { count, load, statusSummary } from '../lib/load';
import { sleep } from '../lib/proc';
import { round } from '../lib/results';
import type { Stack } from '../lib/stack';
import { CONNECTIONS } from './click';
import { createLink, Network } from './seed';

/** What the durability target (bench/README.md) allows a kill -9 to lose: the clicks of the last flush interval. */
const LOSS_WINDOW_TARGET_MS = 200;

async function clicksOf(stack: Stack, linkId: string): Promise<number> {
  return (await stack.db.query(`SELECT count(*)::int AS n FROM clicks WHERE link_id = $1 AND clicked_at > now() - interval '1 day'`, [linkId])).rows[0].n;
}

/**
 * Load on a link of its own, a stop of the API process in the middle of it, then: every 302 the
 * clients received must be a stored click. After SIGTERM (graceful: Nest drains the HTTP server
 * and flushes the click buffer) none may be missing; after SIGKILL, at most what arrived in the
 * last flush interval.
 */
async function stopUnderLoad(stack: Stack, network: Network, how: 'SIGTERM' | 'SIGKILL') {
  const link = await createLink(stack, network.affiliates[0], network.offer.id, { label: `durability ${how}` });
  const loadSeconds = stack.options.quick ? 2 : 6;
  const stopAfterMs = stack.options.quick ? 1000 : 3000;
  const api = stack.api;
  let stopLoad = () => undefined as void;
  let stoppedAt = 0;
  const started = Date.now();
  const running = load({
    url: stack.baseUrl,
    connections: CONNECTIONS,
    duration: loadSeconds,
    requests: [{ method: 'GET', path: `/c/${link.code}?sub1=durability` }],
    onStart: (stop) => (stopLoad = stop),
    onTick: (t) => stack.progress.update(`${how} after ${stopAfterMs} ms: ${t}`),
  });
  await sleep(stopAfterMs);
  stoppedAt = Date.now();
  api.signal(how);
  const exit = await api.exited;
  const exitedAfterMs = Date.now() - stoppedAt;
  // Nothing is listening any more: what the clients hold is final.
  await sleep(300);
  stopLoad();
  const result = await running;
  const served = count(result, 302);
  // Served clicks are those of [started, stoppedAt] (plus what drained after SIGTERM).
  const rate = served / Math.max((stoppedAt - started) / 1000, 0.001);
  await stack.startApi();
  const stored = await clicksOf(stack, link.id);
  return { served, stored, rate, exit, exitedAfterMs, result };
}

export async function durabilityWorkload(stack: Stack, network: Network): Promise<void> {
  stack.progress.phase('click durability: SIGTERM under load');
  const graceful = await stopUnderLoad(stack, network, 'SIGTERM');
  const missing = graceful.served - graceful.stored;
  stack.record({
    name: 'click durability, graceful stop',
    ours: graceful.stored,
    baseline: graceful.served,
    ratio: graceful.served ? round(graceful.stored / graceful.served, 4) : null,
    target: 'stored ≥ 302s served',
    // Stored clicks whose 302 a cut connection kept from the client are not lost: only a 302 without its click fails.
    pass: graceful.served > 0 && missing <= 0 && graceful.exit.signal !== 'SIGKILL',
    unit: 'clicks stored',
    baselineUnit: '302s served',
    note: `exit ${graceful.exit.code ?? graceful.exit.signal} ${graceful.exitedAfterMs} ms after SIGTERM; ${missing > 0 ? `${missing} missing` : missing < 0 ? `${-missing} stored clicks whose 302 the client never read (cut connections)` : 'none missing'}; client saw ${statusSummary(graceful.result)}`,
  });

  stack.progress.phase('click durability: kill -9 under load');
  const killed = await stopUnderLoad(stack, network, 'SIGKILL');
  const lost = Math.max(0, killed.served - killed.stored);
  const lostMs = killed.rate > 0 ? (1000 * lost) / killed.rate : 0;
  stack.record({
    name: 'click durability, kill -9',
    ours: round(lostMs),
    baseline: LOSS_WINDOW_TARGET_MS,
    ratio: null,
    target: `lost ≤ ${LOSS_WINDOW_TARGET_MS} ms of clicks`,
    pass: killed.served > 0 && lostMs <= LOSS_WINDOW_TARGET_MS,
    unit: 'ms lost',
    baselineUnit: 'ms allowed',
    note: `${killed.served} 302s served at ${Math.round(killed.rate)}/s, ${killed.stored} stored, ${lost} lost (= ${round(lostMs)} ms of traffic)`,
  });
}
