import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Service, sleep, waitFor } from './proc';
import { formatSummary, summarize } from './profile';
import type { Stack } from './stack';

/**
 * With --profile: CPU-profiles the API process over one measured load (see cpu-profile-hook.ts)
 * and keeps `bench/profiles/<label>.cpuprofile` (open it in Chrome DevTools) and `<label>.txt`.
 */
export async function profiled<T>(stack: Stack, service: Service, label: string, run: () => Promise<T>): Promise<T> {
  if (!stack.options.profile) return run();
  const dir = join(stack.paths.runDir, 'profiles');
  mkdirSync(dir, { recursive: true });
  const before = new Set(readdirSync(dir));
  service.signal('SIGURG');
  await sleep(100);
  try {
    return await run();
  } finally {
    service.signal('SIGURG');
    try {
      let file = '';
      await waitFor(
        `the CPU profile of ${label}`,
        async () => {
          file = readdirSync(dir).find((f) => f.startsWith(`${service.pid}-`) && f.endsWith('.cpuprofile') && !before.has(f)) ?? '';
          return file !== '';
        },
        30_000,
        200,
      );
      const out = join(stack.paths.repo, 'bench', 'profiles');
      mkdirSync(out, { recursive: true });
      const kept = join(out, `${label}.cpuprofile`);
      copyFileSync(join(dir, file), kept);
      const text = formatSummary(label, summarize(kept, 25));
      writeFileSync(join(out, `${label}.txt`), `${text}\n`);
      stack.profiles.push({ label, text });
      stack.progress.log(`  profile of ${label}: bench/profiles/${label}.cpuprofile`);
    } catch (error) {
      stack.progress.log(`  (no profile for ${label}: ${(error as Error).message.split('\n')[0]})`);
    }
  }
}
