import { EntityManager } from 'typeorm';
import { OutboxMessage } from './outbox.entity';

/** An outbox row as the relay claims it. */
export interface OutboxRow {
  id: string;
  topic: string;
  aggregate_id: string;
  payload: Record<string, unknown>;
}

/**
 * Queries on the `outbox` table, all of them but one: the conversion write inserts its outbox
 * rows inside its one statement (the hot path; ARCHITECTURE.md). Stateless, like the feature
 * repositories: each method runs on the manager it is given, so an enqueue joins the caller's
 * transaction and a claim holds its row locks until the relay's transaction ends.
 */
export class OutboxRepository {
  async insert(manager: EntityManager, topic: string, aggregateId: string, payload: Record<string, unknown>): Promise<void> {
    await manager.insert(OutboxMessage, { topic, aggregateId, payload: payload as never });
  }

  async insertMany(manager: EntityManager, rows: { topic: string; aggregateId: string; payload?: Record<string, unknown> }[]): Promise<void> {
    await manager.insert(
      OutboxMessage,
      rows.map((r) => ({ topic: r.topic, aggregateId: r.aggregateId, payload: (r.payload ?? {}) as never })),
    );
  }

  /** Up to `limit` rows to relay, oldest first, locked; rows another relay holds are skipped. */
  claim(manager: EntityManager, limit: number): Promise<OutboxRow[]> {
    return manager.query(
      `SELECT id, topic, aggregate_id, payload FROM outbox WHERE relayed_at IS NULL AND parked_at IS NULL ORDER BY id LIMIT ${Number(limit)} FOR UPDATE SKIP LOCKED`,
    );
  }

  async markRelayed(manager: EntityManager, ids: string[]): Promise<void> {
    await manager.query(`UPDATE outbox SET relayed_at = now(), attempts = attempts + 1 WHERE id = ANY($1::bigint[])`, [ids]);
  }

  /** Sets rows aside with why the relay cannot hand them over. */
  async park(manager: EntityManager, parked: { id: string; error: string }[]): Promise<void> {
    await manager.query(`UPDATE outbox o SET parked_at = now(), error = p.error FROM unnest($1::bigint[], $2::text[]) AS p(id, error) WHERE o.id = p.id`, [
      parked.map((p) => p.id),
      parked.map((p) => p.error),
    ]);
  }

  /** Deletes up to `limit` rows relayed more than `hours` ago (rows being deleted elsewhere are skipped); answers how many went. */
  async pruneRelayed(manager: EntityManager, hours: number, limit: number): Promise<number> {
    const [{ n }]: { n: number }[] = await manager.query(
      `WITH gone AS (
         DELETE FROM outbox WHERE id IN (
           SELECT id FROM outbox WHERE relayed_at < now() - make_interval(hours => $1) ORDER BY relayed_at LIMIT ${Number(limit)} FOR UPDATE SKIP LOCKED)
         RETURNING 1)
       SELECT count(*)::int AS n FROM gone`,
      [hours],
    );
    return n;
  }

  async countParked(manager: EntityManager): Promise<number> {
    const [row] = await manager.query(`SELECT count(*)::int AS n FROM outbox WHERE parked_at IS NOT NULL`);
    return row.n;
  }

  /** Rows not relayed yet (parked ones left out). */
  async countWaiting(manager: EntityManager): Promise<number> {
    const [row] = await manager.query(`SELECT count(*)::int AS n FROM outbox WHERE relayed_at IS NULL AND parked_at IS NULL`);
    return row.n;
  }

  /** Age in seconds of the oldest row not relayed yet (parked ones left out); 0 when none. */
  async oldestWaitingAge(manager: EntityManager): Promise<number> {
    const [row] = await manager.query(`SELECT coalesce(extract(epoch FROM now() - min(created_at)), 0)::float AS age FROM outbox WHERE relayed_at IS NULL AND parked_at IS NULL`);
    return row.age;
  }
}

export const outboxRepository = new OutboxRepository();
