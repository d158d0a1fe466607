import { readFileSync } from 'node:fs';

/**
 * The Docker health check (docker/Dockerfile): `node dist/src/healthcheck.js [api|worker]`. Without
 * an argument it tells the worker from the API by the container's main process (PID 1) and asks
 * the API's /health/ready on PORT, or the worker's on WORKER_PORT. Exit 0 when ready, 1 otherwise.
 * Reads process.env directly: it must answer even when the configuration does not validate.
 */
function role(): 'api' | 'worker' {
  const given = process.argv[2];
  if (given === 'api' || given === 'worker') return given;
  try {
    return readFileSync('/proc/1/cmdline', 'utf8').includes('worker.js') ? 'worker' : 'api';
  } catch {
    return 'api';
  }
}

async function main(): Promise<number> {
  const port = role() === 'worker' ? (process.env.WORKER_PORT ?? '9464') : (process.env.PORT ?? '3000');
  const response = await fetch(`http://127.0.0.1:${port}/health/ready`, { signal: AbortSignal.timeout(2500) });
  return response.ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  () => process.exit(1),
);
