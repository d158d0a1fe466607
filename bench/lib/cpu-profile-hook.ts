/**
 * Preloaded into the API process with `node -r` when the bench runs with --profile, so a
 * profile covers exactly the measured load (`node --cpu-prof` only writes at a clean exit, and
 * Nest re-raises SIGTERM, so it never does). SIGURG (ignored by default; Nest's shutdown hooks
 * take SIGUSR2) starts the V8 sampling profiler; the next SIGURG stops it and writes `<BENCH_CPU_PROFILE_DIR>/<pid>-<n>.cpuprofile` (Chrome DevTools format).
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';

const dir = process.env.BENCH_CPU_PROFILE_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  let running = false;
  let seq = 0;
  process.on('SIGURG', () => {
    if (!running) {
      running = true;
      session.post('Profiler.enable', () => session.post('Profiler.setSamplingInterval', { interval: 500 }, () => session.post('Profiler.start')));
      return;
    }
    running = false;
    session.post('Profiler.stop', (error, result) => {
      if (error) return void process.stderr.write(`cpu profile: ${error.message}\n`);
      try {
        mkdirSync(dir, { recursive: true });
        const file = join(dir, `${process.pid}-${++seq}.cpuprofile`);
        writeFileSync(`${file}.tmp`, JSON.stringify(result.profile));
        // Renamed once complete, so the harness never reads half a file.
        renameSync(`${file}.tmp`, file);
      } catch (e) {
        process.stderr.write(`cpu profile not written: ${(e as Error).message}\n`);
      }
    });
  });
}
