import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { createApp, createLogger } from './app.setup';
import { preflight } from './bootstrap';
import { PrincipalsService } from './modules/principals/principals.service';
import { OpsServer } from './modules/health/ops-server';

async function main(): Promise<void> {
  const env = await preflight({ migrate: true });
  const logger = createLogger(env.LOG_LEVEL);
  const app = await createApp({ workers: env.RUN_WORKERS, logger, bodyLimitBytes: env.BODY_LIMIT_BYTES });
  if (env.ADMIN_API_KEY) await app.get(PrincipalsService).bootstrapAdmin(env.ADMIN_API_KEY);
  await app.listen({ port: env.PORT, host: env.HOST });
  if (env.METRICS_PORT !== undefined) await app.get(OpsServer).listen(env.METRICS_PORT, env.HOST);
  new Logger('Main').log(
    `Afflux API listening on ${env.PUBLIC_BASE_URL} (port ${env.PORT}); workers ${env.RUN_WORKERS ? 'in this process' : 'off'}${env.DOCS_ENABLED ? `; docs at ${env.PUBLIC_BASE_URL}/docs` : ''}`,
  );
}

void main().catch((error) => {
  process.stderr.write(`afflux: failed to start: ${error?.stack ?? error}\n`);
  process.exit(1);
});
