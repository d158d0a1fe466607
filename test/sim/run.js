#!/usr/bin/env node
/**
 * `npm run test:sim [-- --seed S | --seeds N | --history FILE] [--steps M] [--shrink-seconds T]`.
 * Jest swallows flags it does not know, so they travel as environment variables; after jest,
 * the summary line (and every finding, if any) is printed from the file the spec wrote.
 */
const { spawnSync } = require('node:child_process');
const { readFileSync, rmSync } = require('node:fs');
const { join, resolve } = require('node:path');

const FLAGS = { '--seed': 'SIM_SEED', '--seeds': 'SIM_SEEDS', '--history': 'SIM_HISTORY', '--steps': 'SIM_STEPS', '--shrink-seconds': 'SIM_SHRINK_SECONDS' };
const env = { ...process.env };
const rest = [];
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const [flag, inline] = argv[i].split('=', 2);
  if (!FLAGS[flag]) {
    rest.push(argv[i]);
    continue;
  }
  env[FLAGS[flag]] = inline ?? argv[++i];
  if (flag === '--history') env.SIM_HISTORY = resolve(env.SIM_HISTORY);
}
const root = resolve(__dirname, '../..');
const summaryFile = join(root, 'test/artifacts/sim/summary.json');
rmSync(summaryFile, { force: true });
env.SIM_SUMMARY_FILE = summaryFile;
const jest = spawnSync(process.execPath, [require.resolve('jest/bin/jest', { paths: [root] }), '--config', 'test/sim/jest.config.js', ...rest], {
  cwd: root,
  env,
  stdio: 'inherit',
});
try {
  const s = JSON.parse(readFileSync(summaryFile, 'utf8'));
  for (const f of s.failures) console.log(`\n${f.report}`);
  console.log(
    `\nsimulation: ${s.seeds} seed(s) run, ${s.steps} steps, ${s.faults} faults injected, ${s.checks} invariant checks, ${s.failures.length} seed(s) broke an invariant (${Math.round(s.ms / 1000)} s)` +
      (s.failures.length ? `; replay: ${s.failures.map((f) => f.replay).join(' | ')}` : ''),
  );
} catch {
  console.log('\nsimulation: no summary (the run stopped before its end)');
}
process.exit(jest.status ?? 1);
