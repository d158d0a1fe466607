import { EntityManager, In, IsNull, SelectQueryBuilder } from 'typeorm';
import { ApiKey } from './api-key.entity';
import { displayPrefix, hashApiKey } from './api-key.util';
import { PostbackToken } from './postback-token.entity';
import { BillingMode, Principal, PrincipalStatus, Role } from './principal.entity';

/** The principal behind a live API key. */
export interface KeyOwnerRow {
  key_id: string;
  id: string;
  role: Role;
  name: string;
  status: PrincipalStatus;
}

/**
 * Every query on `principals`, `api_keys` and `postback_tokens` (the principals module owns its
 * tables: see ARCHITECTURE.md). Other modules ask who a principal is here (`find`, `exists`,
 * `existingIds`, `status`) instead of reading the table. Stateless, like ConversionsRepository:
 * each method runs on the caller's manager, so it joins the caller's transaction.
 */
export class PrincipalsRepository {
  // -- who a principal is (any module) ---------------------------------------

  /** The principal `id` (of `role`, when given), or null. */
  find(manager: EntityManager, id: string, role?: Role): Promise<Principal | null> {
    return manager.findOneBy(Principal, { id, ...(role ? { role } : {}) });
  }

  /** Whether `id` names a principal of `role`. */
  exists(manager: EntityManager, id: string, role: Role): Promise<boolean> {
    return manager.existsBy(Principal, { id, role });
  }

  /** Which of `ids` name principals of `role`. */
  async existingIds(manager: EntityManager, ids: string[], role: Role): Promise<Set<string>> {
    const rows = await manager.find(Principal, { where: { id: In(ids), role }, select: { id: true } });
    return new Set(rows.map((p) => p.id));
  }

  /** The principal's status, or null for an id that names nobody. */
  async status(manager: EntityManager, id: string): Promise<PrincipalStatus | null> {
    const row = await manager.findOne(Principal, { where: { id }, select: { id: true, status: true } });
    return row?.status ?? null;
  }

  /** How an advertiser pays (invoice or prepaid) and its low-balance alert; null when it does not exist. */
  async billing(manager: EntityManager, id: string): Promise<{ billingMode: BillingMode; lowBalanceAlert: number | null } | null> {
    const row = await manager.findOne(Principal, { where: { id }, select: { id: true, billingMode: true, lowBalanceAlert: true } });
    return row ? { billingMode: row.billingMode, lowBalanceAlert: row.lowBalanceAlert } : null;
  }

  /** Principal names by id (display only), one query for the lot. */
  async names(manager: EntityManager, ids: string[]): Promise<Map<string, string>> {
    const rows: { id: string; name: string }[] = await manager.query(`SELECT id, name FROM principals WHERE id = ANY($1::uuid[])`, [ids]);
    return new Map(rows.map((r) => [r.id, r.name]));
  }

  /** Of `ids`, the active affiliates, each with its payout threshold (null: the configured default). */
  async activeAffiliateThresholds(manager: EntityManager, ids: string[]): Promise<Map<string, number | null>> {
    const rows: { id: string; threshold: string | null }[] = await manager.query(
      `SELECT id, payout_threshold::text AS threshold FROM principals WHERE id = ANY($1::uuid[]) AND role = 'affiliate' AND status = 'active'`,
      [ids],
    );
    return new Map(rows.map((r) => [r.id, r.threshold === null ? null : Number(r.threshold)]));
  }

  /** The first active admin (the oldest), or, without one, a new admin named `name` with `email`. */
  async firstActiveAdminOrCreate(manager: EntityManager, name: string, email: string): Promise<Principal> {
    const admin = await manager.findOne(Principal, { where: { role: 'admin', status: 'active' }, order: { createdAt: 'ASC' } });
    return admin ?? manager.save(manager.create(Principal, { role: 'admin', name, email, status: 'active' }));
  }

  /**
   * `admin:create-key` (the CLI, outside the app): the CLI admin, created on first use, gets a
   * new key `key`.
   */
  async addCliAdminKey(manager: EntityManager, key: string): Promise<void> {
    const [admin] = await manager.query(
      `INSERT INTO principals (role, name, email) VALUES ('admin', 'CLI admin', 'admin@localhost')
       ON CONFLICT (role, lower(email)) DO UPDATE SET updated_at = now() RETURNING id`,
    );
    await manager.query('INSERT INTO api_keys (principal_id, prefix, key_hash, label) VALUES ($1, $2, $3, $4)', [admin.id, displayPrefix(key), hashApiKey(key), 'cli']);
  }

  // -- the principals module's own -------------------------------------------

  emailTaken(manager: EntityManager, role: Role, email: string): Promise<boolean> {
    return manager.createQueryBuilder(Principal, 'p').where('p.role = :role AND lower(p.email) = lower(:email)', { role, email }).getExists();
  }

  create(manager: EntityManager, fields: Pick<Principal, 'role' | 'name' | 'email' | 'status'> & Partial<Pick<Principal, 'metadata'>>): Promise<Principal> {
    return manager.save(manager.create(Principal, fields));
  }

  save(manager: EntityManager, principal: Principal): Promise<Principal> {
    return manager.save(Principal, principal);
  }

  findByRoleAndEmail(manager: EntityManager, role: Role, email: string): Promise<Principal | null> {
    return manager.findOne(Principal, { where: { role, email } });
  }

  list(manager: EntityManager, role: Role, status?: PrincipalStatus): Promise<Principal[]> {
    return manager.find(Principal, { where: { role, ...(status ? { status } : {}) }, order: { createdAt: 'DESC' } });
  }

  /** The principals of a role (and status), for paginate under the alias `p`. */
  listQuery(manager: EntityManager, role: Role, status?: PrincipalStatus): SelectQueryBuilder<Principal> {
    const qb = manager.createQueryBuilder(Principal, 'p').where('p.role = :role', { role });
    if (status) qb.andWhere('p.status = :status', { status });
    return qb;
  }

  /** Holds the principal's row until the transaction ends (token rotations of one advertiser queue up). */
  async lock(manager: EntityManager, id: string): Promise<void> {
    await manager.query('SELECT id FROM principals WHERE id = $1 FOR UPDATE', [id]);
  }

  insertKey(manager: EntityManager, fields: Pick<ApiKey, 'principalId' | 'prefix' | 'keyHash' | 'label'>): Promise<ApiKey> {
    return manager.save(manager.create(ApiKey, fields));
  }

  listKeys(manager: EntityManager, principalId: string): Promise<ApiKey[]> {
    return manager.find(ApiKey, { where: { principalId }, order: { createdAt: 'DESC' } });
  }

  findKey(manager: EntityManager, id: string, principalId?: string): Promise<ApiKey | null> {
    return manager.findOneBy(ApiKey, { id, ...(principalId ? { principalId } : {}) });
  }

  findKeyByHash(manager: EntityManager, hash: Buffer): Promise<ApiKey | null> {
    return manager.createQueryBuilder(ApiKey, 'k').where('k.key_hash = :hash', { hash }).getOne();
  }

  /** Revokes the key unless it is revoked already. */
  async revokeKey(manager: EntityManager, id: string): Promise<void> {
    await manager.update(ApiKey, { id, revokedAt: IsNull() }, { revokedAt: new Date() });
  }

  async touchKey(manager: EntityManager, id: string, at: Date): Promise<void> {
    await manager.update(ApiKey, { id }, { lastUsedAt: at });
  }

  /** The principal a live (unrevoked) key of this hash belongs to. */
  keyOwner(manager: EntityManager, hash: Buffer): Promise<KeyOwnerRow | undefined> {
    return manager
      .createQueryBuilder(ApiKey, 'k')
      .innerJoin(Principal, 'p', 'p.id = k.principal_id')
      .select(['k.id AS key_id', 'p.id AS id', 'p.role AS role', 'p.name AS name', 'p.status AS status'])
      .where('k.key_hash = :hash AND k.revoked_at IS NULL', { hash })
      .getRawOne<KeyOwnerRow>();
  }

  /** Whether a key id still works and belongs to an active principal of `role`. */
  isActiveKeyOfRole(manager: EntityManager, keyId: string, role: Role): Promise<boolean> {
    return manager
      .createQueryBuilder(ApiKey, 'k')
      .innerJoin(Principal, 'p', 'p.id = k.principal_id')
      .where("k.id = :keyId AND k.revoked_at IS NULL AND p.role = :role AND p.status = 'active'", { keyId, role })
      .getExists();
  }

  async insertPostbackToken(manager: EntityManager, advertiserId: string, token: string): Promise<void> {
    await manager.insert(PostbackToken, { advertiserId, token });
  }

  /** Gives the advertiser's current token (the one without an expiry) `expiresAt`; answers whether there was one. */
  async expireCurrentPostbackToken(manager: EntityManager, advertiserId: string, expiresAt: Date): Promise<boolean> {
    const result = await manager
      .createQueryBuilder()
      .update(PostbackToken)
      .set({ expiresAt })
      .where('advertiser_id = :advertiserId AND expires_at IS NULL', { advertiserId })
      .execute();
    return !!result.affected;
  }

  findLivePostbackToken(manager: EntityManager, token: string): Promise<PostbackToken | null> {
    return manager.getRepository(PostbackToken).createQueryBuilder('t').where('t.token = :token AND (t.expires_at IS NULL OR t.expires_at > now())', { token }).getOne();
  }

  /** The live tokens of one advertiser, newest first. */
  livePostbackTokens(manager: EntityManager, advertiserId: string): Promise<PostbackToken[]> {
    return manager
      .getRepository(PostbackToken)
      .createQueryBuilder('t')
      .where('t.advertiser_id = :advertiserId AND (t.expires_at IS NULL OR t.expires_at > now())', { advertiserId })
      .orderBy('t.created_at', 'DESC')
      .getMany();
  }
}

export const principalsRepository = new PrincipalsRepository();
