import { Client } from 'pg';

/**
 * Baseline for the CSV statement: `COPY (query) TO STDOUT WITH CSV` read by a node client, the
 * least work that moves the same rows out of PostgreSQL as CSV. pg has no COPY stream of its
 * own; this is the small "submittable" pg-copy-streams implements, reading CopyData messages.
 */
class CopyOut {
  bytes = 0;
  lines = 0;
  readonly done: Promise<void>;
  private resolve!: () => void;
  private reject!: (error: Error) => void;
  private error: Error | null = null;

  constructor(readonly text: string) {
    this.done = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  submit(connection: { query: (text: string) => void }): void {
    connection.query(this.text);
  }

  handleCopyData(message: { chunk: Buffer }): void {
    const chunk = message.chunk;
    this.bytes += chunk.length;
    for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) this.lines++;
  }

  handleCommandComplete(): void {}
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}

  handleError(error: Error): void {
    this.error = error;
  }

  handleReadyForQuery(): void {
    if (this.error) this.reject(this.error);
    else this.resolve();
  }
}

export interface CopyResult {
  bytes: number;
  lines: number;
  seconds: number;
}

/** Runs `COPY (<sql>) TO STDOUT WITH (FORMAT csv, HEADER)` and counts what arrives. */
export async function copyCsv(url: string, sql: string, params: Record<string, string> = {}): Promise<CopyResult> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    // COPY takes no bind parameters: the values are quoted literals.
    let text = sql;
    for (const [name, value] of Object.entries(params)) text = text.split(`:${name}`).join(client.escapeLiteral(value));
    const started = process.hrtime.bigint();
    const copy = new CopyOut(`COPY (${text}) TO STDOUT WITH (FORMAT csv, HEADER)`);
    client.query(copy as never);
    await copy.done;
    return { bytes: copy.bytes, lines: copy.lines, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
  } finally {
    await client.end();
  }
}
