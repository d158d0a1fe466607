import { INestApplicationContext, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Config } from '../../config/configuration';

const SIGNALS: NodeJS.Signals[] = ['SIGTERM', 'SIGINT'];

/**
 * Deploys drop nothing (README, "Operations"): on SIGTERM or SIGINT the process keeps serving
 * for SHUTDOWN_DRAIN_MS while /health and /health/ready answer 503 (the load balancer takes it
 * out) and every response asks its client to close the connection; then the app closes (the
 * HTTP server finishes what is in flight, the click buffer writes everything) and the signal is
 * raised again, so the process ends as Nest's own shutdown hooks would end it.
 */
@Injectable()
export class GracefulShutdown implements OnApplicationShutdown {
  private readonly logger = new Logger(GracefulShutdown.name);
  private readonly drainMs: number;
  private readonly listeners = new Map<NodeJS.Signals, () => void>();
  private drainingSince: number | null = null;
  private closing: Promise<void> | undefined;
  /** What happens once the app closed after `signal`: raise it again (tests replace this). */
  afterClose: (signal: NodeJS.Signals) => void = (signal) => process.kill(process.pid, signal);

  constructor(config: ConfigService<Config, true>) {
    this.drainMs = config.get('app', { infer: true }).shutdownDrainMs;
  }

  get draining(): boolean {
    return this.drainingSince !== null;
  }

  /** Listens for the stop signals on behalf of `app` (instead of Nest's enableShutdownHooks). */
  install(app: INestApplicationContext): void {
    for (const signal of SIGNALS) {
      const listener = () => void this.stop(app, signal);
      this.listeners.set(signal, listener);
      process.on(signal, listener);
    }
  }

  /** Drains, closes `app` and calls afterClose; a second signal while draining changes nothing. */
  stop(app: INestApplicationContext, signal: NodeJS.Signals): Promise<void> {
    this.closing ??= (async () => {
      this.drainingSince = Date.now();
      this.logger.log(`${signal}: draining for ${this.drainMs} ms (health answers 503), then closing`);
      await new Promise((resolve) => setTimeout(resolve, this.drainMs));
      this.logger.log(`${signal}: drained; closing`);
      await app.close();
      this.afterClose(signal);
    })();
    return this.closing;
  }

  onApplicationShutdown(): void {
    for (const [signal, listener] of this.listeners) process.removeListener(signal, listener);
    this.listeners.clear();
  }
}
