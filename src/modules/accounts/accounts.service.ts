import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { Redis } from 'ioredis';
import { DataSource, EntityManager, IsNull, Repository } from 'typeorm';
import { AuthPrincipal } from '../../common/auth';
import { ChangeEvents } from '../../common/events/change-events';
import { ForbiddenError, UnauthorizedError } from '../../common/errors';
import { Page, PageQueryDto, paginate } from '../../common/pagination';
import { RedisService } from '../../queue/redis.service';
import { RateLimiter } from '../throttling/rate-limiter.service';
import { ApiKey } from './api-key.entity';
import { displayPrefix, generateApiKey, generatePostbackToken, hashApiKey } from './api-key.util';
import { AccountsError } from './accounts.errors';
import { CreatePrincipalDto, UpdateAffiliateDto } from './dto/accounts.dto';
import { PostbackToken } from './postback-token.entity';
import { Principal, PrincipalStatus, Role, BillingMode } from './principal.entity';

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
const KEY_PATTERN = /^afx_(adm|adv|aff|fin)_[A-Za-z0-9_-]{20,100}$/;
/** Which api_keys row ADMIN_API_KEY last registered: a new value revokes it. */
const BOOTSTRAP_KEY_SETTING = 'bootstrap_admin_key_id';

interface CachedKey {
  principal: AuthPrincipal | null;
  status: PrincipalStatus | null;
  expires: number;
}

@Injectable()
export class AccountsService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(AccountsService.name);
  private readonly tokenCache = new Map<string, { advertiserId: string; expires: number }>();
  private readonly keyCache = new Map<string, CachedKey>();
  private readonly keyLookups = new Map<string, Promise<CachedKey>>();
  private readonly tokenLookups = new Map<string, Promise<string | null>>();
  private readonly lastUsedWritten = new Map<string, number>();
  /** Every process listens here and drops its cached keys: a revocation or suspension holds at once everywhere. */
  private readonly keysChannel: string;
  private subscriber?: Redis;
  /** Bumped on every drop, so a lookup that raced a revocation does not put its stale answer back. */
  private keyGeneration = 0;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @InjectRepository(Principal) private readonly principals: Repository<Principal>,
    @InjectRepository(ApiKey) private readonly apiKeys: Repository<ApiKey>,
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
      const existing = await manager.createQueryBuilder(Principal, 'p').where('p.role = :role AND lower(p.email) = lower(:email)', { role, email: dto.email }).getExists();
      if (existing) throw AccountsError.emailTaken(role);
      const principal = await manager.save(manager.create(Principal, { role, name: dto.name, email: dto.email, status, metadata }));
      const { key } = await this.insertKey(manager, principal, null);
      let postbackToken: string | undefined;
      if (role === 'advertiser') {
        postbackToken = generatePostbackToken();
        await manager.insert(PostbackToken, { advertiserId: principal.id, token: postbackToken });
      }
      this.logger.log(`created ${role} ${principal.id}`);
      return { principal, apiKey: key, postbackToken };
    });
  }

  async listPrincipals(role: Role, status?: PrincipalStatus): Promise<Principal[]> {
    return this.principals.find({ where: { role, ...(status ? { status } : {}) }, order: { createdAt: 'DESC' } });
  }

  /** One page of principals of a role, newest first (the portal's admin tables). */
  pagePrincipals(role: Role, status: PrincipalStatus | undefined, query: PageQueryDto): Promise<Page<Principal>> {
    const qb = this.principals.createQueryBuilder('p').where('p.role = :role', { role });
    if (status) qb.andWhere('p.status = :status', { status });
    return paginate(qb, 'p', query);
  }

  async getPrincipal(id: string, role?: Role): Promise<Principal> {
    const principal = await this.principals.findOneBy({ id, ...(role ? { role } : {}) });
    if (!principal) throw AccountsError.principalNotFound();
    return principal;
  }

  async updateAffiliate(id: string, dto: UpdateAffiliateDto): Promise<Principal> {
    const affiliate = await this.getPrincipal(id, 'affiliate');
    if (dto.status !== undefined) affiliate.status = dto.status;
    if (dto.payoutThreshold !== undefined) affiliate.payoutThreshold = dto.payoutThreshold;
    if (dto.name !== undefined) affiliate.name = dto.name;
    const saved = await this.principals.save(affiliate);
    await this.forgetKeys();
    this.changes.emit('principal', id);
    return saved;
  }

  /** How an advertiser pays (admin): by invoice or prepaid, and its low-balance alert (null: none). */
  async updateAdvertiserBilling(id: string, change: { billingMode?: BillingMode; lowBalanceAlert?: number | null }): Promise<Principal> {
    const advertiser = await this.getPrincipal(id, 'advertiser');
    if (change.billingMode !== undefined) advertiser.billingMode = change.billingMode;
    if (change.lowBalanceAlert !== undefined) advertiser.lowBalanceAlert = change.lowBalanceAlert;
    const saved = await this.principals.save(advertiser);
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
    return this.apiKeys.find({ where: { principalId: owner }, order: { createdAt: 'DESC' } });
  }

  async revokeApiKey(actor: AuthPrincipal, keyId: string): Promise<void> {
    const key = await this.apiKeys.findOneBy({ id: keyId, ...(actor.role === 'admin' ? {} : { principalId: actor.id }) });
    if (!key) throw AccountsError.apiKeyNotFound();
    if (!key.revokedAt) await this.apiKeys.update({ id: keyId, revokedAt: IsNull() }, { revokedAt: new Date() });
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
    if (!KEY_PATTERN.test(key)) throw new UnauthorizedError('A valid API key is required (Authorization: Bearer afx_…)');
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
    if (cached.status === 'pending') throw AccountsError.pending();
    if (cached.status === 'suspended' && cached.principal.role !== 'affiliate') throw AccountsError.suspended();
    this.touch(cached.principal.keyId);
    return cached.principal;
  }

  private async lookUpKey(hash: Buffer, cacheKey: string, clientIp: string | undefined): Promise<CachedKey> {
    if (clientIp) await this.limits.consume('keyFailures', clientIp);
    const generation = this.keyGeneration;
    const row = await this.apiKeys
      .createQueryBuilder('k')
      .innerJoin(Principal, 'p', 'p.id = k.principal_id')
      .select(['k.id AS key_id', 'p.id AS id', 'p.role AS role', 'p.name AS name', 'p.status AS status'])
      .where('k.key_hash = :hash AND k.revoked_at IS NULL', { hash })
      .getRawOne<{ key_id: string; id: string; role: Role; name: string; status: PrincipalStatus }>();
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
    return this.apiKeys
      .createQueryBuilder('k')
      .innerJoin(Principal, 'p', 'p.id = k.principal_id')
      .where("k.id = :keyId AND k.revoked_at IS NULL AND p.role = :role AND p.status = 'active'", { keyId, role })
      .getExists();
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
      let current = await manager.createQueryBuilder(ApiKey, 'k').where('k.key_hash = :hash', { hash }).getOne();
      if (!current) {
        let admin = await manager.findOne(Principal, { where: { role: 'admin', email: 'admin@localhost' } });
        admin ??= await manager.save(manager.create(Principal, { role: 'admin', name: 'Bootstrap admin', email: 'admin@localhost', status: 'active' }));
        current = await manager.save(manager.create(ApiKey, { principalId: admin.id, prefix: displayPrefix(key), keyHash: hash, label: 'ADMIN_API_KEY' }));
        this.logger.log(`bootstrap admin key registered for ${admin.id}`);
      }
      const [previous]: { value: string }[] = await manager.query(`SELECT value FROM app_settings WHERE key = $1`, [BOOTSTRAP_KEY_SETTING]);
      if (previous?.value === current.id) return null;
      await manager.query(`INSERT INTO app_settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`, [BOOTSTRAP_KEY_SETTING, current.id]);
      if (!previous) return null;
      await manager.update(ApiKey, { id: previous.value, revokedAt: IsNull() }, { revokedAt: new Date() });
      return previous.value;
    });
    if (!replaced) return;
    await this.forgetKeys();
    this.logger.log(`ADMIN_API_KEY changed: revoked the key it replaced (${replaced})`);
  }

  async rotatePostbackToken(advertiserId: string): Promise<{ postbackToken: string; previousTokenExpiresAt: string | null }> {
    return this.dataSource.transaction(async (manager) => {
      await manager.query('SELECT id FROM principals WHERE id = $1 FOR UPDATE', [advertiserId]);
      const expiresAt = new Date(Date.now() + PREVIOUS_TOKEN_GRACE_MS);
      // Tokens older than the current one already have an expiry; only the current one gets its 24 h.
      const result = await manager
        .createQueryBuilder()
        .update(PostbackToken)
        .set({ expiresAt })
        .where('advertiser_id = :advertiserId AND expires_at IS NULL', { advertiserId })
        .execute();
      const postbackToken = generatePostbackToken();
      await manager.insert(PostbackToken, { advertiserId, token: postbackToken });
      return { postbackToken, previousTokenExpiresAt: result.affected ? expiresAt.toISOString() : null };
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
    const row = await this.dataSource
      .getRepository(PostbackToken)
      .createQueryBuilder('t')
      .where('t.token = :token AND (t.expires_at IS NULL OR t.expires_at > now())', { token })
      .getOne();
    if (!row) return null;
    if (clientIp) await this.limits.release('keyFailures', clientIp);
    if (this.tokenCache.size >= TOKEN_CACHE_MAX) this.tokenCache.clear();
    this.tokenCache.set(token, { advertiserId: row.advertiserId, expires: Math.min(Date.now() + TOKEN_CACHE_MS, row.expiresAt?.getTime() ?? Infinity) });
    return row.advertiserId;
  }

  /** The live tokens of one advertiser, newest first: HMAC checks try each. */
  async livePostbackTokens(advertiserId: string): Promise<string[]> {
    const rows = await this.dataSource
      .getRepository(PostbackToken)
      .createQueryBuilder('t')
      .where('t.advertiser_id = :advertiserId AND (t.expires_at IS NULL OR t.expires_at > now())', { advertiserId })
      .orderBy('t.created_at', 'DESC')
      .getMany();
    return rows.map((r) => r.token);
  }

  private async insertKey(manager: EntityManager, owner: Principal, label: string | null) {
    const key = generateApiKey(owner.role);
    const row = await manager.save(manager.create(ApiKey, { principalId: owner.id, prefix: displayPrefix(key), keyHash: hashApiKey(key), label }));
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
    this.apiKeys.update({ id: keyId }, { lastUsedAt: new Date(now) }).catch((error) => this.logger.warn(`last_used_at not written for ${keyId}: ${error.message}`));
  }
}
