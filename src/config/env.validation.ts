import { plainToInstance, Transform } from 'class-transformer';
import { IsBoolean, IsEmail, IsIn, IsInt, IsOptional, IsString, IsUrl, Matches, Max, Min, MinLength, validateSync } from 'class-validator';

const toBool = ({ value }: { value: unknown }) => (typeof value === 'string' ? ['1', 'true', 'yes', 'on'].includes(value.toLowerCase()) : value);
const toInt = ({ value }: { value: unknown }) => (typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value);

/**
 * Every environment variable the service reads, with its default. Validated once at start;
 * the first bad one stops the start with a line naming it (see ConfigError).
 */
export class EnvironmentVariables {
  @IsIn(['development', 'production', 'test'])
  NODE_ENV: 'development' | 'production' | 'test' = 'development';

  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(65535)
  PORT = 3000;

  @IsString()
  HOST = '0.0.0.0';

  @IsUrl({ require_tld: false, protocols: ['http', 'https'], require_protocol: true })
  PUBLIC_BASE_URL = 'http://localhost:3000';

  @Matches(/^postgres(ql)?:\/\/[^\s]+$/, { message: 'must be a postgres:// URL' })
  DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/afflux';

  @IsOptional()
  @Matches(/^postgres(ql)?:\/\/[^\s]+$/, { message: 'must be a postgres:// URL' })
  DATABASE_REPLICA_URL?: string;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(200)
  DATABASE_POOL_SIZE = 10;

  @Matches(/^rediss?:\/\/[^\s]+$/, { message: 'must be a redis:// URL' })
  REDIS_URL = 'redis://127.0.0.1:6379';

  /**
   * A Redis Cluster instead of one Redis: some of its nodes as host:port, comma-separated (the
   * client finds the rest). Credentials and TLS still come from REDIS_URL.
   */
  @IsOptional()
  @Matches(/^\s*[A-Za-z0-9.:[\]_-]+:\d{1,5}\s*(,\s*[A-Za-z0-9.:[\]_-]+:\d{1,5}\s*)*$/, { message: 'must be host:port[,host:port...]' })
  REDIS_CLUSTER_NODES?: string;

  @Matches(/^[A-Za-z0-9_-]{1,64}$/, { message: 'must be 1-64 letters, digits, _ or -' })
  QUEUE_PREFIX = 'afx';

  @IsOptional()
  @Matches(/^afx_adm_[A-Za-z0-9_-]{24,}$/, { message: 'must look like afx_adm_ followed by at least 24 letters, digits, _ or -' })
  ADMIN_API_KEY?: string;

  @IsOptional()
  @IsString()
  @MinLength(32, { message: 'must be at least 32 characters' })
  CLICK_SECRET?: string;

  /** The key id (0–15) click ids signed with CLICK_SECRET carry; change it with the secret when rotating. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(15)
  CLICK_SECRET_KEY_ID = 0;

  /** The click secret before a rotation: ids it signed (under CLICK_SECRET_PREVIOUS_KEY_ID) stay valid while it is set. */
  @IsOptional()
  @IsString()
  @MinLength(32, { message: 'must be at least 32 characters' })
  CLICK_SECRET_PREVIOUS?: string;

  /** The key id of CLICK_SECRET_PREVIOUS (the CLICK_SECRET_KEY_ID it was used with). */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(15)
  CLICK_SECRET_PREVIOUS_KEY_ID = 0;

  /** How often buffered clicks are written at the latest; a crash loses at most this much. */
  @Transform(toInt)
  @IsInt()
  @Min(10)
  @Max(200)
  CLICK_FLUSH_INTERVAL_MS = 100;

  /** Clicks held in memory at most; beyond it the redirect waits, then the oldest are dropped. */
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(5_000_000)
  CLICK_BUFFER_MAX = 50_000;

  /** Rows per multi-row INSERT of clicks. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(20_000)
  CLICK_BATCH_SIZE = 2000;

  /** How long a redirect waits for room in a full click buffer before the oldest click is dropped. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(5000)
  CLICK_BACKPRESSURE_TIMEOUT_MS = 100;

  /** How long a tracking link (with its offer and affiliate status) stays cached for redirects. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(300_000)
  CLICK_LINK_CACHE_TTL_MS = 5000;

  @Transform(toBool)
  @IsBoolean()
  RUN_WORKERS = true;

  /** Serves /metrics (and /health/live, /health/ready) on this port instead of the public one; unset: /metrics on PORT. */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(65535)
  METRICS_PORT?: number;

  /** The worker's health and metrics port (/health/live, /health/ready, /metrics); 0 turns it off. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(65535)
  WORKER_PORT = 9464;

  /** Serve the OpenAPI document and Swagger UI at /docs. */
  @Transform(toBool)
  @IsBoolean()
  DOCS_ENABLED = true;

  /**
   * One JSON line per request: all, api (all but the click redirect: a line costs
   * about 30 µs of CPU, a third of a core at 10 000 clicks a second, and every click is a row
   * anyway), off.
   */
  @IsIn(['all', 'api', 'off'])
  ACCESS_LOG: 'all' | 'api' | 'off' = 'api';

  /** How long an affiliate's postback URL may take to answer. */
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(60_000)
  POSTBACK_TIMEOUT_MS = 5000;

  /** Attempts per outgoing postback (the first and the retries), with exponential backoff. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(20)
  POSTBACK_MAX_ATTEMPTS = 8;

  /** The first retry's delay; each further one doubles it. */
  @Transform(toInt)
  @IsInt()
  @Min(10)
  @Max(3_600_000)
  POSTBACK_RETRY_BASE_MS = 10_000;

  /** Let partner postbacks (outgoing) call loopback and private addresses (tests, closed networks); off by default against SSRF. */
  @Transform(toBool)
  @IsBoolean()
  POSTBACK_ALLOW_PRIVATE_NETWORKS = false;

  /** How long an outgoing webhook endpoint may take to answer. */
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(60_000)
  WEBHOOK_TIMEOUT_MS = 10_000;

  /** An outgoing webhook's first retry delay; each further one doubles it, up to WEBHOOK_RETRY_MAX_DELAY_MS. */
  @Transform(toInt)
  @IsInt()
  @Min(10)
  @Max(3_600_000)
  WEBHOOK_RETRY_BASE_MS = 60_000;

  @Transform(toInt)
  @IsInt()
  @Min(10)
  @Max(86_400_000)
  WEBHOOK_RETRY_MAX_DELAY_MS = 3_600_000;

  /** How long after its event an outgoing webhook is still retried (a day). */
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(7 * 86_400_000)
  WEBHOOK_RETRY_WINDOW_MS = 86_400_000;

  @Transform(toBool)
  @IsBoolean()
  RUN_MIGRATIONS = true;

  /** ledger:verify leaves out conversions changed in the last this many seconds (their entries may still be on their way); 0 checks everything. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(86_400)
  LEDGER_VERIFY_GRACE_SECONDS = 0;

  /** ledger:verify reads DATABASE_REPLICA_URL instead of the primary (then give it a grace above the replication lag). */
  @Transform(toBool)
  @IsBoolean()
  LEDGER_VERIFY_ON_REPLICA = false;

  /** lock_timeout of migrations: a migration that waits this long for a table lock fails (and is retried by the next deploy) instead of queueing the traffic behind it. 0 waits for ever. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(3_600_000)
  MIGRATION_LOCK_TIMEOUT_MS = 10_000;

  /** statement_timeout of migrations; 0 lets a statement run for ever (an index built CONCURRENTLY on a large table may need that). */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(86_400_000)
  MIGRATION_STATEMENT_TIMEOUT_MS = 900_000;

  /** How long relayed outbox rows are kept (for inspection) before the sweeper prunes them. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(8760)
  OUTBOX_RETENTION_HOURS = 72;

  /** Days raw clicks are kept: older daily partitions are detached and dropped by the retention job. 0 keeps them for ever. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(3650)
  CLICK_RETENTION_DAYS = 90;

  /** Days a click keeps its full IP address; then it is cut to its /24 (IPv4) or /48 (IPv6) network. 0 keeps full IPs as long as the click. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(3650)
  CLICK_IP_RETENTION_DAYS = 30;

  /** Days the outgoing postback attempt log is kept. 0 keeps it for ever. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(3650)
  POSTBACK_ATTEMPT_RETENTION_DAYS = 90;

  /** Days a processed Stripe event is kept (Stripe retries an event for 3 days, so at least 7). 0 keeps them for ever. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(3650)
  STRIPE_EVENT_RETENTION_DAYS = 90;

  /** Days outgoing webhook events and their delivery log are kept (at least a day past WEBHOOK_RETRY_WINDOW_MS). 0 keeps them for ever. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(3650)
  WEBHOOK_EVENT_RETENTION_DAYS = 30;

  /** Days an expired portal session is kept (for the sign-in history) before the retention job deletes it. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(365)
  SESSION_RETENTION_DAYS = 1;

  /** Days a job that failed for good stays in Redis (the queue dashboard shows it). 0 keeps them for ever. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(365)
  FAILED_JOB_RETENTION_DAYS = 14;

  /** Rows the retention job deletes or updates per statement (short transactions on hot tables). */
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(100_000)
  RETENTION_BATCH_SIZE = 5000;

  /** After SIGTERM the API keeps serving this long while /health and /health/ready answer 503, then closes (the load balancer's time to stop sending). */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(300_000)
  SHUTDOWN_DRAIN_MS = 5000;

  @IsOptional()
  @Matches(/^(sk|rk)_(test|live)_[A-Za-z0-9_]+$/, { message: 'must be a Stripe secret key (sk_test_… or sk_live_…)' })
  STRIPE_SECRET_KEY?: string;

  @IsOptional()
  @IsUrl({ require_tld: false, protocols: ['http', 'https'], require_protocol: true })
  STRIPE_API_URL?: string;

  @IsOptional()
  @IsString()
  @MinLength(8)
  STRIPE_WEBHOOK_SECRET?: string;

  /** Signing secret of the Connect webhook endpoint (connected accounts' events); STRIPE_WEBHOOK_SECRET when unset. */
  @IsOptional()
  @IsString()
  @MinLength(8)
  STRIPE_CONNECT_WEBHOOK_SECRET?: string;

  /** How long one Stripe request may take before the SDK gives up (and retries with the same key). */
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(120_000)
  STRIPE_TIMEOUT_MS = 20_000;

  /** The SDK's own retries of a request (same idempotency key) on network errors and 5xx. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(10)
  STRIPE_MAX_NETWORK_RETRIES = 3;

  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  LOG_LEVEL = 'info';

  @Transform(toInt)
  @IsInt()
  @Min(0)
  DEFAULT_PAYOUT_THRESHOLD = 1000;

  @Transform(toInt)
  @IsInt()
  @Min(1024)
  @Max(100 * 1024 * 1024)
  BODY_LIMIT_BYTES = 1024 * 1024;

  /** Sends portal invitations by mail when set (smtp://user:pass@host:587, smtps://…); otherwise the admin copies the link. */
  @IsOptional()
  @Matches(/^smtps?:\/\/[^\s]+$/, { message: 'must be an smtp:// or smtps:// URL' })
  SMTP_URL?: string;

  /** With ADMIN_PASSWORD: a portal admin user with this email is created at start if none exists. */
  @IsOptional()
  @IsEmail({}, { message: 'must be an email address' })
  ADMIN_EMAIL?: string;

  @IsOptional()
  @IsString()
  @MinLength(12, { message: 'must be at least 12 characters' })
  ADMIN_PASSWORD?: string;

  /** Proxies whose X-Forwarded-For is believed: true, false, or addresses, CIDRs and proxy-addr names (loopback, linklocal, uniquelocal). */
  @Matches(/^(true|false|[\w.:/]+(\s*,\s*[\w.:/]+)*)$/, { message: 'must be true, false or a comma-separated list of addresses, CIDRs or loopback/linklocal/uniquelocal' })
  TRUST_PROXY = 'loopback,linklocal,uniquelocal';

  /** The window every rate limit counts in. */
  @Transform(toInt)
  @IsInt()
  @Min(1000)
  @Max(3_600_000)
  RATE_LIMIT_WINDOW_MS = 60_000;

  /** Requests per window per API key on the authenticated API; 0 turns the limit off. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  RATE_LIMIT_API = 6000;

  /** Postbacks per window per advertiser, counted once the postback is authenticated; 0 turns it off. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  RATE_LIMIT_POSTBACKS = 120_000;

  /** Requests per window per client IP on the /v1 routes open without a key (sign-up); 0 turns it off. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  RATE_LIMIT_ANONYMOUS = 120;

  /** Unknown API keys and postback tokens per window per client IP before its further ones are refused unlooked-at; 0 turns it off. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  RATE_LIMIT_KEY_FAILURES = 20;

  /** Submissions per window per client IP of each public form (portal sign-in, invitation, queue dashboard sign-in); 0 turns it off. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  RATE_LIMIT_FORMS = 60;

  /** Affiliate sign-ups per window per client IP (portal and API); 0 turns it off. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  RATE_LIMIT_SIGNUPS = 5;

  /** Portal requests (pages, forms, assets) per window per client IP; 0 turns it off. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  RATE_LIMIT_PORTAL = 600;
  /** Conversion pixels recorded per window per click id; more are ignored (and counted). 0 turns it off. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  RATE_LIMIT_PIXEL_CLICK = 10;

  /** Conversion pixels recorded per window per client IP; more are ignored (and counted). 0 turns it off. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  RATE_LIMIT_PIXEL_IP = 60;
}

export class ConfigError extends Error {
  constructor(
    readonly setting: string,
    detail: string,
  ) {
    super(`Invalid configuration: ${setting} ${detail}`);
  }
}

export function validateEnvironment(raw: Record<string, unknown>): EnvironmentVariables {
  // Empty strings mean "not set", as a shell's `FOO= npm start` intends.
  const cleaned = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== ''));
  const env = plainToInstance(EnvironmentVariables, cleaned, { exposeDefaultValues: true });
  const errors = validateSync(env, { skipMissingProperties: false, whitelist: false });
  if (errors.length > 0) {
    const first = errors[0];
    const reason = Object.values(first.constraints ?? {})[0] ?? 'is invalid';
    const value = first.property.match(/KEY|SECRET|URL/) ? '' : ` (got ${JSON.stringify(first.value)})`;
    throw new ConfigError(first.property, reason.replace(new RegExp(`^${first.property} `), '') + value);
  }
  return env;
}
