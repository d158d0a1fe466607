import { getQueueToken } from '@nestjs/bullmq';
import { Queue } from 'bullmq';
import { OutboxRelay } from '../../src/queue/outbox/outbox.relay';
import { QUEUES } from '../../src/queue/queues';
import type { TestApp } from './create-test-app';

const BUSY_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children'] as const;

/**
 * Waits until every outbox row is relayed and no queue has work left (failed jobs excepted):
 * a poll, never a fixed sleep. `except` leaves queues out (the scheduler keeps one job delayed).
 */
export async function drainQueues(t: TestApp, { timeoutMs = 30_000, except = [QUEUES.maintenance] as string[] } = {}): Promise<void> {
  const relay = t.app.get(OutboxRelay);
  const queues = Object.values(QUEUES)
    .filter((name) => !except.includes(name))
    .map((name) => t.app.get<Queue>(getQueueToken(name)));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await relay.drain();
    const [{ n }] = await t.dataSource.query(`SELECT count(*)::int AS n FROM outbox WHERE relayed_at IS NULL AND parked_at IS NULL`);
    const counts = await Promise.all(queues.map((q) => q.getJobCounts(...BUSY_STATES)));
    const busy = counts.reduce((sum, c) => sum + Object.values(c).reduce((a, b) => a + b, 0), 0);
    if (n === 0 && busy === 0) return;
    if (Date.now() > deadline) throw new Error(`queues not drained after ${timeoutMs} ms: ${n} outbox rows, ${busy} jobs`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export function queue(t: TestApp, name: string): Queue {
  return t.app.get<Queue>(getQueueToken(name));
}
