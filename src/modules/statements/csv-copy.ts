import type { Connection, Submittable } from 'pg';
import type { Duplex } from 'node:stream';

/** Bytes handed on at a time: small enough to die young, large enough to make few writes. */
const PIECE_BYTES = 64 * 1024;
/** Pieces held while the reader is busy; past this the socket is paused and PostgreSQL waits. */
const HELD_PIECES = 4;
const LF = 0x0a;
const CR = 0x0d;

/**
 * `COPY (…) TO STDOUT WITH (FORMAT csv)` read as the statement CSV's bytes. PostgreSQL sends
 * every record in a CopyData message of its own, ending with LF (a quoted LF inside a cell is
 * never the last byte); each is passed on with CRLF instead, the line end the statement CSV
 * writes. Records are gathered into pieces of about PIECE_BYTES, copied out of pg's read buffer
 * at once (it is reused). Backpressure: with HELD_PIECES pieces not yet taken, the connection's
 * socket is paused, so PostgreSQL blocks on sending rather than this process buffering the export.
 *
 * `pieces()` yields the bytes in order and ends when the server is ready for the next query; it
 * throws the first error (the server's, the connection's). A reader that stops early must
 * `abandon()` the connection: a COPY cannot be stopped halfway, so the connection is closed.
 */
export class CsvCopy implements Submittable {
  private held: Buffer[] = [];
  private piece = Buffer.allocUnsafe(PIECE_BYTES);
  private used = 0;
  private socket: Duplex | null = null;
  private paused = false;
  private finished = false;
  private error: Error | null = null;
  private wake: (() => void) | null = null;

  constructor(private readonly text: string) {}

  submit(connection: Connection): void {
    this.socket = connection.stream;
    connection.query(this.text);
  }

  handleCopyData(message: { chunk: Buffer }): void {
    if (this.error) return;
    const chunk = message.chunk;
    const length = chunk.length;
    if (length === 0 || chunk[length - 1] !== LF) {
      this.fail(new Error('COPY sent a record that does not end with a line feed'));
      return;
    }
    // The record without its LF, then CR LF: one byte more than it came.
    if (this.used + length + 1 > this.piece.length) this.cut(length + 1);
    chunk.copy(this.piece, this.used, 0, length - 1);
    this.used += length - 1;
    this.piece[this.used++] = CR;
    this.piece[this.used++] = LF;
  }

  handleError(error: Error): void {
    this.fail(error);
  }

  handleReadyForQuery(): void {
    if (this.error) return;
    if (this.used > 0) this.held.push(this.piece.subarray(0, this.used));
    this.used = 0;
    this.finished = true;
    this.notify();
  }

  handleCommandComplete(): void {}
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}

  /** The CSV's bytes, in pieces, as PostgreSQL sends them. */
  async *pieces(): AsyncGenerator<Buffer> {
    for (;;) {
      const piece = this.held.shift();
      if (piece) {
        if (this.held.length < HELD_PIECES) this.resume();
        yield piece;
        continue;
      }
      if (this.error) throw this.error;
      if (this.finished) return;
      this.resume();
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  /** Whether the COPY is still running: then the connection can only be closed. */
  get running(): boolean {
    return !this.finished && !this.error;
  }

  /**
   * Ends a COPY whose reader went away: the socket is destroyed (after the pool was told to drop
   * the client), so the server's next send fails and it ends the transaction.
   */
  abandon(): void {
    this.held = [];
    this.socket?.destroy();
  }

  private cut(need: number): void {
    if (this.used > 0) this.held.push(this.piece.subarray(0, this.used));
    this.piece = Buffer.allocUnsafe(Math.max(PIECE_BYTES, need));
    this.used = 0;
    if (this.held.length >= HELD_PIECES && !this.paused) {
      this.paused = true;
      this.socket?.pause();
    }
    this.notify();
  }

  private resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.socket?.resume();
  }

  private fail(error: Error): void {
    if (this.error) return;
    this.error = error;
    this.held = [];
    this.resume();
    this.notify();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }
}
