import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module';
import { createLogger } from './app.setup';
import { preflight } from './bootstrap';
import { OpsServer } from './modules/health/ops-server';

/** The worker process: the same modules as the API, no HTTP server, all BullMQ processors. */
async function main(): Promise<void> {
  const env = await preflight({ migrate: true });
  const logger = createLogger(env.LOG_LEVEL);
  const app = await NestFactory.createApplicationContext(AppModule.forRoot({ workers: true }), { logger, bufferLogs: true });
  // An application context keeps buffered logs until a logger is set: without this the worker never logs.
  app.useLogger(logger);
  app.enableShutdownHooks();
  const port = env.WORKER_PORT ? await app.get(OpsServer).listen(env.WORKER_PORT, env.HOST) : null;
  new Logger('Worker').log(`Afflux worker started${port ? `; health and metrics on port ${port}` : ''}`);
}

void main().catch((error) => {
  process.stderr.write(`afflux worker: failed to start: ${error?.stack ?? error}\n`);
  process.exit(1);
});
