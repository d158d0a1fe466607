/**
 * Runs the Stripe emulator standalone (demo, out-of-process tests):
 *
 *   node dist-dev/test/support/stripe-emulator/main.js   (npm run build:dev) [--port 12111] [--webhook-url URL]
 *        [--webhook-secret whsec_…] [--api-key sk_test_…] [--rate-limit 100]
 *
 * Prints `stripe emulator listening on http://127.0.0.1:PORT` once ready
 * (`--port 0` picks a free port) and stops cleanly on SIGINT/SIGTERM. The
 * control API is under http://127.0.0.1:PORT/__emulator/.
 */
import { StripeEmulator } from './emulator';

const USAGE = 'usage: main.js [--port 12111] [--webhook-url URL] [--webhook-secret SECRET] [--api-key sk_test_...] [--rate-limit PER_SECOND]';
const OPTIONS = ['port', 'webhook-url', 'webhook-secret', 'api-key', 'rate-limit'];
const DEFAULT_PORT = 12111;

/** `--name value` or `--name=value`. */
export function parseArgs(argv: string[]): Record<string, string> {
  const args: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new Error(`unexpected argument "${arg}"\n${USAGE}`);
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(2, eq) : arg.slice(2);
    if (!OPTIONS.includes(name)) throw new Error(`unknown option "--${name}"\n${USAGE}`);
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new Error(`missing value for --${name}\n${USAGE}`);
    args[name] = value;
  }
  return args;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const args = parseArgs(argv);
  const port = args.port === undefined ? DEFAULT_PORT : Number(args.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid --port "${args.port}"`);

  const emulator = new StripeEmulator({
    webhookUrl: args['webhook-url'],
    webhookSecret: args['webhook-secret'],
    apiKey: args['api-key'],
    // Off unless asked for: Stripe's basic rate limiter (reads and writes per second, each).
    rateLimitPerSecond: args['rate-limit'] === undefined ? undefined : Number(args['rate-limit']),
  });
  const { url } = await emulator.start(port);
  process.stdout.write(`stripe emulator listening on ${url}\n`);

  const shutdown = () => {
    emulator.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
