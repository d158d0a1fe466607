import { createServer } from 'node:net';
import { resolve } from 'node:path';

/** The compiled app the suite runs as real processes (`npm run build`); AFX_FAULTS_DIST points elsewhere. */
export const DIST = process.env.AFX_FAULTS_DIST ?? resolve(__dirname, '../../../dist');
/** The dev tools' build (`npm run build:dev`: the Stripe emulator); AFX_FAULTS_DEV_DIST points elsewhere. */
export const DEV_DIST = process.env.AFX_FAULTS_DEV_DIST ?? resolve(__dirname, '../../../dist-dev');

export const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

/** A loopback port free a moment ago. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as { port: number };
  await new Promise((done) => server.close(done));
  return port;
}

/** Polls `probe` until it answers a truthy value; fails naming `what` after `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | null | false> | T | undefined | null | false, timeoutMs = 30_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${(lastError as Error).message})` : ''}`);
    await sleep(everyMs);
  }
}

/** A deterministic pseudo-random sequence, so a failing run can be replayed with the seed it printed. */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 0x100000000;
  };
}

export const SEED = Number(process.env.FAULTS_SEED ?? Date.now() % 1_000_000);
