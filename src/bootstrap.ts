import { ConfigError, EnvironmentVariables } from './config/env.validation';
import { readEnvironment, redisConfig } from './config/configuration';
import { prepareDatabase } from './database/prepare';
import { DependencyUnavailableError } from './database/ensure-database';
import { checkRedis } from './queue/check-redis';

/**
 * Validates the configuration and the services the process needs before Nest starts, so a
 * newcomer reads one line that says what is wrong, not a stack trace.
 */
export async function preflight(options: { migrate: boolean }): Promise<EnvironmentVariables> {
  try {
    const env = readEnvironment();
    await Promise.all([prepareDatabase(env.DATABASE_URL, options.migrate && env.RUN_MIGRATIONS), checkRedis(redisConfig())]);
    return env;
  } catch (error) {
    if (error instanceof ConfigError || error instanceof DependencyUnavailableError) {
      process.stderr.write(`afflux: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}
