import { registerAs } from '@nestjs/config';
import { ConfigError, EnvironmentVariables, validateEnvironment } from './env.validation';

/** The one place that reads process.env. */
export function readEnvironment(): EnvironmentVariables {
  return validateEnvironment(process.env);
}

export const appConfig = registerAs('app', () => {
  const env = readEnvironment();
  return {
    nodeEnv: env.NODE_ENV,
    port: env.PORT,
    host: env.HOST,
    publicBaseUrl: env.PUBLIC_BASE_URL.replace(/\/+$/, ''),
    logLevel: env.LOG_LEVEL,
    bodyLimitBytes: env.BODY_LIMIT_BYTES,
    runWorkers: env.RUN_WORKERS,
    adminApiKey: env.ADMIN_API_KEY,
    clickSecret: env.CLICK_SECRET,
    clickKeyId: env.CLICK_SECRET_KEY_ID,
    clickSecretPrevious: env.CLICK_SECRET_PREVIOUS,
    clickPreviousKeyId: env.CLICK_SECRET_PREVIOUS_KEY_ID,
    defaultPayoutThreshold: env.DEFAULT_PAYOUT_THRESHOLD,
    trustProxy: trustProxySetting(env.TRUST_PROXY),
    outboxRetentionHours: env.OUTBOX_RETENTION_HOURS,
    shutdownDrainMs: env.SHUTDOWN_DRAIN_MS,
    metricsPort: env.METRICS_PORT,
    workerPort: env.WORKER_PORT,
    docsEnabled: env.DOCS_ENABLED,
    accessLog: env.ACCESS_LOG,
  };
});

export const databaseConfig = registerAs('database', () => {
  const env = readEnvironment();
  return {
    url: env.DATABASE_URL,
    replicaUrl: env.DATABASE_REPLICA_URL,
    poolSize: env.DATABASE_POOL_SIZE,
    runMigrations: env.RUN_MIGRATIONS,
  };
});

/** REDIS_CLUSTER_NODES (`host:port,host:port`, IPv6 hosts in brackets) as ioredis's node list; empty: one Redis. */
export function parseClusterNodes(setting: string | undefined): { host: string; port: number }[] {
  return (setting ?? '')
    .split(',')
    .map((node) => node.trim())
    .filter(Boolean)
    .map((node) => {
      const at = node.lastIndexOf(':');
      return { host: node.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(node.slice(at + 1)) };
    });
}

export const redisConfig = registerAs('redis', () => {
  const env = readEnvironment();
  return { url: env.REDIS_URL, clusterNodes: parseClusterNodes(env.REDIS_CLUSTER_NODES), queuePrefix: env.QUEUE_PREFIX };
});

export const retentionConfig = registerAs('retention', () => {
  const env = readEnvironment();
  return {
    clickDays: env.CLICK_RETENTION_DAYS,
    clickIpDays: env.CLICK_IP_RETENTION_DAYS,
    postbackAttemptDays: env.POSTBACK_ATTEMPT_RETENTION_DAYS,
    stripeEventDays: env.STRIPE_EVENT_RETENTION_DAYS,
    webhookEventDays: env.WEBHOOK_EVENT_RETENTION_DAYS,
    sessionDays: env.SESSION_RETENTION_DAYS,
    failedJobDays: env.FAILED_JOB_RETENTION_DAYS,
    batchSize: env.RETENTION_BATCH_SIZE,
  };
});

export const stripeConfig = registerAs('stripe', () => {
  const env = readEnvironment();
  return {
    secretKey: env.STRIPE_SECRET_KEY,
    apiUrl: env.STRIPE_API_URL,
    webhookSecret: env.STRIPE_WEBHOOK_SECRET,
    connectWebhookSecret: env.STRIPE_CONNECT_WEBHOOK_SECRET ?? env.STRIPE_WEBHOOK_SECRET,
    timeoutMs: env.STRIPE_TIMEOUT_MS,
    maxNetworkRetries: env.STRIPE_MAX_NETWORK_RETRIES,
  };
});

export const trackingConfig = registerAs('tracking', () => {
  const env = readEnvironment();
  return {
    flushIntervalMs: env.CLICK_FLUSH_INTERVAL_MS,
    bufferMax: env.CLICK_BUFFER_MAX,
    batchSize: Math.min(env.CLICK_BATCH_SIZE, env.CLICK_BUFFER_MAX),
    backpressureTimeoutMs: env.CLICK_BACKPRESSURE_TIMEOUT_MS,
    linkCacheTtlMs: env.CLICK_LINK_CACHE_TTL_MS,
  };
});

export const partnerPostbacksConfig = registerAs('partnerPostbacks', () => {
  const env = readEnvironment();
  return {
    timeoutMs: env.POSTBACK_TIMEOUT_MS,
    maxAttempts: env.POSTBACK_MAX_ATTEMPTS,
    retryBaseMs: env.POSTBACK_RETRY_BASE_MS,
    allowPrivateNetworks: env.POSTBACK_ALLOW_PRIVATE_NETWORKS,
  };
});

export const webhooksConfig = registerAs('webhooks', () => {
  const env = readEnvironment();
  return {
    timeoutMs: env.WEBHOOK_TIMEOUT_MS,
    retryBaseMs: env.WEBHOOK_RETRY_BASE_MS,
    retryMaxDelayMs: env.WEBHOOK_RETRY_MAX_DELAY_MS,
    retryWindowMs: env.WEBHOOK_RETRY_WINDOW_MS,
    // Private targets follow the partner postbacks' setting: one switch for every outgoing call.
    allowPrivateNetworks: env.POSTBACK_ALLOW_PRIVATE_NETWORKS,
  };
});

export const portalConfig = registerAs('portal', () => {
  const env = readEnvironment();
  return { smtpUrl: env.SMTP_URL, adminEmail: env.ADMIN_EMAIL, adminPassword: env.ADMIN_PASSWORD };
});

export const rateLimitConfig = registerAs('rateLimit', () => {
  const env = readEnvironment();
  return {
    windowMs: env.RATE_LIMIT_WINDOW_MS,
    api: env.RATE_LIMIT_API,
    postbacks: env.RATE_LIMIT_POSTBACKS,
    anonymous: env.RATE_LIMIT_ANONYMOUS,
    keyFailures: env.RATE_LIMIT_KEY_FAILURES,
    forms: env.RATE_LIMIT_FORMS,
    signups: env.RATE_LIMIT_SIGNUPS,
    portal: env.RATE_LIMIT_PORTAL,
    pixelPerClick: env.RATE_LIMIT_PIXEL_CLICK,
    pixelPerIp: env.RATE_LIMIT_PIXEL_IP,
  };
});

/** The database ledger:verify reads: the replica with LEDGER_VERIFY_ON_REPLICA (which needs DATABASE_REPLICA_URL), else the primary. */
export function ledgerVerifyDatabase(env: Pick<EnvironmentVariables, 'DATABASE_URL' | 'DATABASE_REPLICA_URL' | 'LEDGER_VERIFY_ON_REPLICA'>): { url: string; replica: boolean } {
  if (!env.LEDGER_VERIFY_ON_REPLICA) return { url: env.DATABASE_URL, replica: false };
  if (!env.DATABASE_REPLICA_URL) throw new ConfigError('LEDGER_VERIFY_ON_REPLICA', 'needs DATABASE_REPLICA_URL');
  return { url: env.DATABASE_REPLICA_URL, replica: true };
}

/** Fastify's trustProxy: a boolean, or the comma-separated list of trusted proxies as given. */
export function trustProxySetting(value: string): boolean | string {
  return value === 'true' ? true : value === 'false' ? false : value;
}

export type AppConfig = ReturnType<typeof appConfig>;
export type DatabaseConfig = ReturnType<typeof databaseConfig>;
export type RedisConfig = ReturnType<typeof redisConfig>;
export type StripeConfig = ReturnType<typeof stripeConfig>;
export type RetentionConfig = ReturnType<typeof retentionConfig>;
export type TrackingConfig = ReturnType<typeof trackingConfig>;
export type PartnerPostbacksConfig = ReturnType<typeof partnerPostbacksConfig>;
export type PortalConfig = ReturnType<typeof portalConfig>;
export type WebhooksConfig = ReturnType<typeof webhooksConfig>;
export type RateLimitConfig = ReturnType<typeof rateLimitConfig>;

export interface Config {
  app: AppConfig;
  database: DatabaseConfig;
  redis: RedisConfig;
  stripe: StripeConfig;
  retention: RetentionConfig;
  tracking: TrackingConfig;
  partnerPostbacks: PartnerPostbacksConfig;
  portal: PortalConfig;
  webhooks: WebhooksConfig;
  rateLimit: RateLimitConfig;
}

export const allConfig = [
  appConfig,
  databaseConfig,
  redisConfig,
  retentionConfig,
  stripeConfig,
  trackingConfig,
  partnerPostbacksConfig,
  webhooksConfig,
  portalConfig,
  rateLimitConfig,
];

/** The environment for a child process this one starts (the demo, the benchmarks): ours plus overrides. */
export function childEnvironment(overrides: Record<string, string>): Record<string, string> {
  const inherited = Object.fromEntries(Object.entries(process.env).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
  return { ...inherited, ...overrides };
}
