import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { AuthPrincipal } from '../../common/auth';
import { ChangeEvents } from '../../common/events/change-events';
import { ForbiddenError, invalidField, UnauthorizedError } from '../../common/errors';
import { Page, PageQueryDto, paginate } from '../../common/pagination';
import type { RedisClient } from '../../queue/redis-client';
import { RedisService } from '../../queue/redis.service';
import { RateLimiter } from '../throttling/rate-limiter.service';
import { ApiKey } from './api-key.entity';
import { API_KEY_PATTERN, displayPrefix, generateApiKey, generatePostbackToken, hashApiKey } from './api-key.util';
import { PrincipalsError } from './principals.errors';
import { CreatePrincipalDto, UpdateAffiliateDto } from './dto/principals.dto';
import { BillingMode, Principal, PrincipalStatus, Role } from './principal.entity';
import { principalsRepository as repository } from './principals.repository';

const KEY_CACHE_MS = 5_000;
/**
 * Unknown keys are remembered longer: a key is random and only ever becomes valid by being
 * created (which no one can guess in advance), and every lookup of one spends the client's
 * allowance of unknown keys. Any revocation empties the whole cache anyway.
 */
const UNKNOWN_KEY_CACHE_MS = 60_000;
const LAST_USED_RESOLUTION_MS = 60_000;
const PREVIOUS_TOKEN_GRACE_MS = 24 * 3600 * 1000;
const TOKEN_CACHE_MS = 2_000;
const TOKEN_CACHE_MAX = 10_000;
/** Which api_keys row ADMIN_API_KEY last registered: a new value revokes it. */
const BOOTSTRAP_KEY_SETTING = 'bootstrap_admin_key_id';

interface CachedKey {
  principal: AuthPrincipal | null;
  status: PrincipalStatus | null;
  expires: number;
}

@Injectable()
export class PrincipalsService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(PrincipalsService.name);
  private readonly tokenCache = new Map<string, { advertiserId: string; expires: number }>();
  private readonly keyCache = new Map<string, CachedKey>();
  private readonly keyLookups = new Map<string, Promise<CachedKey>>();
  private readonly tokenLookups = new Map<string, Promise<string | null>>();
  private readonly lastUsedWritten = new Map<string, number>();
  /** Every process listens here and drops its cached keys: a revocation or suspension holds at once everywhere. */
  private readonly keysChannel: string;
  private subscriber?: RedisClient;
  /** Bumped on every drop, so a lookup that raced a revocation does not put its stale answer back. */
  private keyGeneration = 0;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly changes: ChangeEvents,
    private readonly redis: RedisService,
    private readonly limits: RateLimiter,
  ) {
    this.keysChannel = redis.key('api-keys', 'changed');
  }

  async onModuleInit(): Promise<void> {
    const subscriber = this.redis.client.duplicate();
    subscriber.on('error', (error) => this.logger.warn(`api key news: ${error.message}`));
    subscriber.on('message', () => this.dropCachedKeys());
    // News sent while the connection was down is lost: start over from an empty cache on each (re)connect.
    subscriber.on('ready', () => this.dropCachedKeys());
    this.subscriber = subscriber;
    // ioredis subscribes again by itself after a reconnect; until then the cache's 5 s bound holds.
    await subscriber.subscribe(this.keysChannel).catch((error) => this.logger.warn(`api key news not subscribed yet: ${error.message}`));
  }

  async onApplicationShutdown(): Promise<void> {
    await this.subscriber?.quit().catch(() => this.subscriber?.disconnect());
  }

  /** Creates a principal with its first API key (and, for advertisers, a postback token) at once. */
  async createPrincipal(
    role: Role,
    dto: CreatePrincipalDto,
    status: PrincipalStatus = 'active',
    metadata: Record<string, unknown> = {},
  ): Promise<{ principal: Principal; apiKey: string; postbackToken?: string }> {
    return this.dataSource.transaction(async (manager) => {
      if (await repository.emailTaken(manager, role, dto.email)) throw PrincipalsError.emailTaken(role);
      const principal = await repository.create(manager, { role, name: dto.name, email: dto.email, status, metadata });
      const { key } = await this.insertKey(manager, principal, null);
      let postbackToken: string | undefined;
      if (role === 'advertiser') {
        postbackToken = generatePostbackToken();
        await repository.insertPostbackToken(manager, principal.id, postbackToken);
      }
      this.logger.log(`created ${role} ${principal.id}`);
      return { principal, apiKey: key, postbackToken };
    });
  }

  async listPrincipals(role: Role, status?: PrincipalStatus): Promise<Principal[]> {
    return repository.list(this.dataSource.manager, role, status);
  }

  /** One page of principals of a role, newest first (the portal's admin tables). */
  pagePrincipals(role: Role, status: PrincipalStatus | undefined, query: PageQueryDto): Promise<Page<Principal>> {
    return paginate(repository.listQuery(this.dataSource.manager, role, status), 'p', query);
  }

  async getPrincipal(id: string, role?: Role): Promise<Principal> {
    const principal = await repository.find(this.dataSource.manager, id, role);
    if (!principal) throw PrincipalsError.principalNotFound();
    return principal;
  }

  async updateAffiliate(id: string, dto: UpdateAffiliateDto): Promise<Principal> {
    const affiliate = await this.getPrincipal(id, 'affiliate');
    if (dto.rejectionReason !== undefined && dto.status !== 'rejected') throw invalidField('rejectionReason', 'only goes with status rejected');
    if (dto.status === 'rejected' && affiliate.status !== 'rejected') {
      if (affiliate.status !== 'pending') throw PrincipalsError.notPending();
      affiliate.metadata = { ...affiliate.metadata, rejection: { reason: dto.rejectionReason || null, at: new Date().toISOString() } };
    }
    if (dto.status !== undefined) affiliate.status = dto.status;
    if (dto.payoutThreshold !== undefined) affiliate.payoutThreshold = dto.payoutThreshold;
    if (dto.name !== undefined) affiliate.name = dto.name;
    const saved = await repository.save(this.dataSource.manager, affiliate);
    await this.forgetKeys();
    this.changes.emit('principal', id);
    return saved;
  }

  /** How an advertiser pays (admin): by invoice or prepaid, and its low-balance alert (null: none). */
  async updateAdvertiserBilling(id: string, change: { billingMode?: BillingMode; lowBalanceAlert?: number | null }): Promise<Principal> {
    const advertiser = await this.getPrincipal(id, 'advertiser');
    if (change.billingMode !== undefined) advertiser.billingMode = change.billingMode;
    if (change.lowBalanceAlert !== undefined) advertiser.lowBalanceAlert = change.lowBalanceAlert;
    const saved = await repository.save(this.dataSource.manager, advertiser);
    this.changes.emit('principal', id);
    return saved;
  }

  async createApiKey(actor: AuthPrincipal, principalId: string | undefined, label: string | null) {
    if (principalId && principalId !== actor.id && actor.role !== 'admin') throw new ForbiddenError();
    const owner = await this.getPrincipal(principalId ?? actor.id);
    return this.dataSource.transaction((manager) => this.insertKey(manager, owner, label));
  }

  async listApiKeys(actor: AuthPrincipal, principalId?: string): Promise<ApiKey[]> {
    const owner = actor.role === 'admin' && principalId ? principalId : actor.id;
    return repository.listKeys(this.dataSource.manager, owner);
  }

  async revokeApiKey(actor: AuthPrincipal, keyId: string): Promise<void> {
    const key = await repository.findKey(this.dataSource.manager, keyId, actor.role === 'admin' ? undefined : actor.id);
    if (!key) throw PrincipalsError.apiKeyNotFound();
    if (!key.revokedAt) await repository.revokeKey(this.dataSource.manager, keyId);
    await this.forgetKeys();
    this.logger.log(`revoked api key ${keyId} of ${key.principalId}`);
  }

  /**
   * Resolves a bearer key to its principal; a short cache keeps the hot API paths off the
   * database. A key not in the cache first spends one of the client's allowance of unknown keys
   * (given back when the key is found), so a flood of invented keys from one address is refused
   * before it reaches the database.
   */
  async authenticate(key: string, clientIp?: string): Promise<AuthPrincipal> {
    if (!API_KEY_PATTERN.test(key)) throw new UnauthorizedError('A valid API key is required (Authorization: Bearer afx_…)');
    const hash = hashApiKey(key);
    const cacheKey = hash.toString('base64');
    let cached = this.keyCache.get(cacheKey);
    if (!cached || cached.expires < Date.now()) {
      // One lookup per key and client at a time: a burst with a key just out of the cache waits for it
      // together, and spends the client's allowance once (so a busy client never trips its own limit).
      const flight = `${cacheKey}|${clientIp ?? ''}`;
      let lookup = this.keyLookups.get(flight);
      if (!lookup) {
        lookup = this.lookUpKey(hash, cacheKey, clientIp).finally(() => this.keyLookups.delete(flight));
        this.keyLookups.set(flight, lookup);
      }
      cached = await lookup;
    }
    if (!cached.principal) throw new UnauthorizedError('A valid API key is required (Authorization: Bearer afx_…)');
    if (cached.status === 'pending') throw PrincipalsError.pending();
    if (cached.status === 'rejected') throw PrincipalsError.rejected();
    if (cached.status === 'suspended' && cached.principal.role !== 'affiliate') throw PrincipalsError.suspended();
    this.touch(cached.principal.keyId);
    return cached.principal;
  }

  private async lookUpKey(hash: Buffer, cacheKey: string, clientIp: string | undefined): Promise<CachedKey> {
    if (clientIp) await this.limits.consume('keyFailures', clientIp);
    const generation = this.keyGeneration;
    const row = await repository.keyOwner(this.dataSource.manager, hash);
    if (row && clientIp) await this.limits.release('keyFailures', clientIp);
    const cached: CachedKey = {
      principal: row ? { id: row.id, role: row.role, name: row.name, keyId: row.key_id } : null,
      status: row?.status ?? null,
      expires: Date.now() + (row ? KEY_CACHE_MS : UNKNOWN_KEY_CACHE_MS),
    };
    if (this.keyCache.size > 10_000) this.keyCache.clear();
    if (generation === this.keyGeneration) this.keyCache.set(cacheKey, cached);
    return cached;
  }

  /** Whether an API key id still works and belongs to an active principal of `role` (dashboard sessions). */
  async isActiveKeyOfRole(keyId: string, role: Role): Promise<boolean> {
    return repository.isActiveKeyOfRole(this.dataSource.manager, keyId, role);
  }

  /**
   * Makes ADMIN_API_KEY a working admin key (idempotent; several processes may race here). The
   * key a previous value registered is revoked: changing the variable is how an operator
   * rotates a leaked bootstrap key, so the old one must stop working.
   */
  async bootstrapAdmin(key: string): Promise<void> {
    const hash = hashApiKey(key);
    const replaced = await this.dataSource.transaction(async (manager) => {
      await manager.query(`SELECT pg_advisory_xact_lock(hashtext('afx:bootstrap-admin'))`);
      let current = await repository.findKeyByHash(manager, hash);
      if (!current) {
        let admin = await repository.findByRoleAndEmail(manager, 'admin', 'admin@localhost');
        admin ??= await repository.create(manager, { role: 'admin', name: 'Bootstrap admin', email: 'admin@localhost', status: 'active' });
        current = await repository.insertKey(manager, { principalId: admin.id, prefix: displayPrefix(key), keyHash: hash, label: 'ADMIN_API_KEY' });
        this.logger.log(`bootstrap admin key registered for ${admin.id}`);
      }
      const [previous]: { value: string }[] = await manager.query(`SELECT value FROM app_settings WHERE key = $1`, [BOOTSTRAP_KEY_SETTING]);
      if (previous?.value === current.id) return null;
      await manager.query(`INSERT INTO app_settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`, [BOOTSTRAP_KEY_SETTING, current.id]);
      if (!previous) return null;
      await repository.revokeKey(manager, previous.value);
      return previous.value;
    });
    if (!replaced) return;
    await this.forgetKeys();
    this.logger.log(`ADMIN_API_KEY changed: revoked the key it replaced (${replaced})`);
  }

  async rotatePostbackToken(advertiserId: string): Promise<{ postbackToken: string; previousTokenExpiresAt: string | null }> {
    return this.dataSource.transaction(async (manager) => {
      await repository.lock(manager, advertiserId);
      const expiresAt = new Date(Date.now() + PREVIOUS_TOKEN_GRACE_MS);
      // Tokens older than the current one already have an expiry; only the current one gets its 24 h.
      const hadOne = await repository.expireCurrentPostbackToken(manager, advertiserId, expiresAt);
      const postbackToken = generatePostbackToken();
      await repository.insertPostbackToken(manager, advertiserId, postbackToken);
      return { postbackToken, previousTokenExpiresAt: hadOne ? expiresAt.toISOString() : null };
    });
  }

  /**
   * The advertiser whose live postback token equals `token` (constant-time compare is moot: the
   * lookup is by value). Found tokens are remembered for two seconds: every postback asks, and a
   * rotated token stays live for a day anyway. Unknown tokens are not remembered.
   */
  async advertiserForPostbackToken(token: string, clientIp?: string): Promise<string | null> {
    const hit = this.tokenCache.get(token);
    if (hit && hit.expires > Date.now()) return hit.advertiserId;
    // One look-up per token and client at a time, as for API keys: a burst just out of the cache
    // waits for it together and spends the client's allowance once.
    const flight = `${token}|${clientIp ?? ''}`;
    let lookup = this.tokenLookups.get(flight);
    if (!lookup) {
      lookup = this.lookUpPostbackToken(token, clientIp).finally(() => this.tokenLookups.delete(flight));
      this.tokenLookups.set(flight, lookup);
    }
    return lookup;
  }

  private async lookUpPostbackToken(token: string, clientIp: string | undefined): Promise<string | null> {
    // Like an unknown API key: a look-up spends one of the address's allowance first (a 429 past
    // it, with no database read), and a token that turns out valid gives it back.
    if (clientIp) await this.limits.consume('keyFailures', clientIp);
    const row = await repository.findLivePostbackToken(this.dataSource.manager, token);
    if (!row) return null;
    if (clientIp) await this.limits.release('keyFailures', clientIp);
    if (this.tokenCache.size >= TOKEN_CACHE_MAX) this.tokenCache.clear();
    this.tokenCache.set(token, { advertiserId: row.advertiserId, expires: Math.min(Date.now() + TOKEN_CACHE_MS, row.expiresAt?.getTime() ?? Infinity) });
    return row.advertiserId;
  }

  /** The live tokens of one advertiser, newest first: HMAC checks try each. */
  async livePostbackTokens(advertiserId: string): Promise<string[]> {
    const rows = await repository.livePostbackTokens(this.dataSource.manager, advertiserId);
    return rows.map((r) => r.token);
  }

  private async insertKey(manager: EntityManager, owner: Principal, label: string | null) {
    const key = generateApiKey(owner.role);
    const row = await repository.insertKey(manager, { principalId: owner.id, prefix: displayPrefix(key), keyHash: hashApiKey(key), label });
    return { key, row };
  }

  /** Drops every cached key here and in every other process (see onModuleInit). */
  private async forgetKeys(): Promise<void> {
    this.dropCachedKeys();
    await this.redis.client
      .publish(this.keysChannel, 'changed')
      .catch((error) => this.logger.warn(`api key news not sent, other processes catch up within ${KEY_CACHE_MS} ms: ${error.message}`));
  }

  private dropCachedKeys(): void {
    this.keyGeneration++;
    this.keyCache.clear();
  }

  private touch(keyId: string): void {
    const now = Date.now();
    if ((this.lastUsedWritten.get(keyId) ?? 0) + LAST_USED_RESOLUTION_MS > now) return;
    this.lastUsedWritten.set(keyId, now);
    repository.touchKey(this.dataSource.manager, keyId, new Date(now)).catch((error) => this.logger.warn(`last_used_at not written for ${keyId}: ${error.message}`));
  }
}
