import type { Connection, Submittable } from 'pg';

/** A row as PostgreSQL sends it in the simple query protocol: text values in select-list order. */
export type TextRow = (string | null)[];

/**
 * A simple-protocol query (e.g. `FETCH 5000 FROM c`) whose rows go to `onRow` one at a time as
 * they arrive, instead of being gathered into a result. pg's own result keeps every row of a
 * FETCH alive until the last one is in, long enough for V8 to move them all to the old
 * generation: a million-row export then grew the API's heap by hundreds of MB between
 * full collections. Rows handled as they come die young.
 *
 * `done` resolves with the number of rows once the server is ready for the next query, or
 * rejects at the first error: the server's, the connection's (after which no ReadyForQuery
 * comes), or one thrown by `onRow` (the rest of the rows are then skipped). pg holds any later
 * query on the client until the server is ready again.
 */
export class StreamedQuery implements Submittable {
  readonly done: Promise<number>;
  private rows = 0;
  private error: Error | null = null;
  private resolve!: (rows: number) => void;
  private reject!: (error: Error) => void;

  constructor(
    private readonly text: string,
    private readonly onRow: (row: TextRow) => void,
  ) {
    this.done = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    // Settled by whoever awaits it; a caller that stops early must not see an unhandled rejection.
    this.done.catch(() => undefined);
  }

  submit(connection: Connection): void {
    connection.query(this.text);
  }

  handleDataRow(message: { fields: TextRow }): void {
    if (this.error) return;
    this.rows++;
    try {
      this.onRow(message.fields);
    } catch (error) {
      this.fail(error as Error);
    }
  }

  handleError(error: Error): void {
    this.fail(error);
  }

  handleReadyForQuery(): void {
    if (!this.error) this.resolve(this.rows);
  }

  handleRowDescription(): void {}
  handleCommandComplete(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}

  private fail(error: Error): void {
    if (this.error) return;
    this.error = error;
    this.reject(error);
  }
}
