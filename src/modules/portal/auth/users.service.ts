import { HttpStatus, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { AuthPrincipal } from '../../../common/auth';
import { AppError, invalidField } from '../../../common/errors';
import { Page, PageQueryDto, paginate } from '../../../common/pagination';
import { Config } from '../../../config/configuration';
import { PrincipalsService } from '../../principals/principals.service';
import type { Principal, Role } from '../../principals/principal.entity';
import { principalsRepository } from '../../principals/principals.repository';
import { PortalInvite, PortalUser, PortalUserStatus } from '../portal.entities';
import { InviteMailer } from './invite-mailer';
import { LoginThrottleService } from './login-throttle.service';
import { DUMMY_HASH, hashPassword, passwordProblem, verifyPassword } from './passwords';
import { SessionsService } from './sessions.service';
import { hashToken, newToken, TOKEN_PATTERN } from './tokens';

const INVITE_TTL_MS = 7 * 24 * 3600 * 1000;
/** An invitation whose link still works (alias `i`). */
const OPEN_INVITE = 'i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > now()';

export interface NewUser {
  name: string;
  password: string;
  timeZone: string;
}

export interface AffiliateSignup extends NewUser {
  company: string;
  email: string;
  about?: string;
}

export class SignInRefused extends AppError {
  static invalid() {
    return new SignInRefused('invalid_credentials', HttpStatus.UNAUTHORIZED, 'That email and password do not match an account.');
  }
  static throttled(minutes: number) {
    return new SignInRefused('too_many_attempts', HttpStatus.TOO_MANY_REQUESTS, `Too many failed sign-ins. Try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`);
  }
  static suspended() {
    return new SignInRefused('account_suspended', HttpStatus.FORBIDDEN, 'This account is suspended. Contact the network if you think this is a mistake.');
  }
  static rejected() {
    return new SignInRefused('account_rejected', HttpStatus.FORBIDDEN, 'The network turned this application down. Contact the network if you think this is a mistake.');
  }
}

export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return zone.length <= 64;
  } catch {
    return false;
  }
}

/** The actor services expect, for a person acting on behalf of their principal. */
export function actorOf(p: { principalId: string; role: Role; principalName: string; userId: string }): AuthPrincipal {
  return { id: p.principalId, role: p.role, name: p.principalName, keyId: `portal-user:${p.userId}` };
}

/**
 * People of the portal: sign-in, affiliate self sign-up, invitations, settings. Principals are
 * created and changed through PrincipalsService only; this service adds the people behind them.
 */
@Injectable()
export class UsersService implements OnApplicationBootstrap {
  private readonly logger = new Logger(UsersService.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly principals: PrincipalsService,
    private readonly sessions: SessionsService,
    private readonly throttle: LoginThrottleService,
    private readonly mailer: InviteMailer,
    private readonly config: ConfigService<Config, true>,
  ) {}

  /** ADMIN_EMAIL + ADMIN_PASSWORD: the first admin can sign in without any CLI (idempotent, race-safe). */
  async onApplicationBootstrap(): Promise<void> {
    const { adminEmail, adminPassword } = this.config.get('portal', { infer: true });
    if (!adminEmail || !adminPassword) return;
    const created = await this.dataSource.transaction(async (manager) => {
      await manager.query(`SELECT pg_advisory_xact_lock(hashtext('afx:portal-admin'))`);
      if (await this.findByEmail(manager, adminEmail)) return false;
      const admin = await principalsRepository.firstActiveAdminOrCreate(manager, 'Network admin', adminEmail);
      await manager.insert(PortalUser, { principalId: admin.id, email: adminEmail, name: 'Admin', passwordHash: await hashPassword(adminPassword) });
      return true;
    });
    if (created) this.logger.log('portal admin user created from ADMIN_EMAIL');
  }

  /**
   * Checks the password (in constant time whether or not the email exists), under the sign-in
   * throttle. A person with two-factor sign-in (`totpEnabledAt`) is not signed in yet: a code follows.
   */
  async signIn(email: string, password: string, ip: string): Promise<PortalUser> {
    const minutes = await this.throttle.attempt(email, ip);
    if (minutes > 0) throw SignInRefused.throttled(minutes);
    const user = await this.dataSource
      .getRepository(PortalUser)
      .createQueryBuilder('u')
      .addSelect('u.passwordHash')
      .where('lower(u.email) = lower(:email)', { email: email.trim() })
      .getOne();
    const matches = await verifyPassword(password, user?.passwordHash ?? DUMMY_HASH);
    if (!user || !matches || user.status !== 'active') throw SignInRefused.invalid();
    // With two-factor sign-in the attempt stays counted until its code is right (TwoFactorService.finishLogin).
    if (!user.totpEnabledAt) await this.throttle.succeeded(email, ip);
    const principal = await this.principals.getPrincipal(user.principalId);
    // Suspended affiliates still read their earnings (as the API lets them); other roles are shut out.
    if (principal.status === 'suspended' && principal.role !== 'affiliate') throw SignInRefused.suspended();
    if (principal.status === 'rejected') throw SignInRefused.rejected();
    return user;
  }

  /** A pending affiliate (through PrincipalsService, as the API's sign-up) with its first user. */
  async signUpAffiliate(input: AffiliateSignup): Promise<PortalUser> {
    this.checkNewUser(input, input.email);
    if (await this.findByEmail(this.dataSource.manager, input.email)) throw invalidField('email', 'already has an account: sign in instead');
    const { principal } = await this.principals
      .createPrincipal('affiliate', { name: input.company, email: input.email }, 'pending', input.about ? { about: input.about } : {})
      .catch((error) => {
        if (error instanceof AppError && error.code === 'email_taken') throw invalidField('email', 'is already registered with the network');
        throw error;
      });
    await this.discardFirstKey(principal);
    return this.insertUser(this.dataSource.manager, principal.id, input.email, input);
  }

  /** An invitation for `email` to join `principalId`; the link is answered once, and mailed when SMTP is set. */
  async invite(inviter: { userId: string | null; userName: string }, principalId: string, email: string): Promise<{ link: string; mailed: boolean }> {
    const principal = await this.principals.getPrincipal(principalId);
    if (await this.findByEmail(this.dataSource.manager, email)) throw invalidField('email', 'already has an account');
    const token = newToken();
    await this.dataSource
      .getRepository(PortalInvite)
      .insert({ principalId, email, tokenHash: hashToken(token), invitedBy: inviter.userId, expiresAt: new Date(Date.now() + INVITE_TTL_MS) });
    const link = `${this.config.get('app', { infer: true }).publicBaseUrl}/portal/invite/${token}`;
    const mailed = await this.mailer.sendInvite(email, link, principal.name, inviter.userName);
    this.logger.log(`invitation to principal ${principalId} created by portal user ${inviter.userId}${mailed ? ' and mailed' : ''}`);
    return { link, mailed };
  }

  /** The open invitation behind a link, or null when it is unknown, used, expired or revoked. */
  async openInvite(token: string): Promise<(PortalInvite & { principalName: string }) | null> {
    if (!TOKEN_PATTERN.test(token)) return null;
    const invite = await this.dataSource
      .getRepository(PortalInvite)
      .createQueryBuilder('i')
      .where(`i.token_hash = :hash AND ${OPEN_INVITE}`, { hash: hashToken(token) })
      .getOne();
    if (!invite) return null;
    return Object.assign(invite, { principalName: (await this.principals.getPrincipal(invite.principalId)).name });
  }

  /** Uses the invitation (once: the UPDATE claims it) and creates the user in the same transaction. */
  async acceptInvite(token: string, input: NewUser): Promise<PortalUser | null> {
    const invite = await this.openInvite(token);
    if (!invite) return null;
    this.checkNewUser(input, invite.email);
    return this.dataSource.transaction(async (manager) => {
      const claimed = await manager.query(`UPDATE portal_invites i SET accepted_at = now() WHERE id = $1 AND ${OPEN_INVITE} RETURNING id`, [invite.id]);
      if (!claimed[0]?.length) return null;
      if (await this.findByEmail(manager, invite.email)) throw invalidField('email', 'already has an account: sign in instead');
      const user = await this.insertUser(manager, invite.principalId, invite.email, input);
      await manager.update(PortalInvite, { id: invite.id }, { acceptedUserId: user.id });
      return user;
    });
  }

  pageUsers(principalId: string | undefined, query: PageQueryDto): Promise<Page<PortalUser>> {
    const qb = this.dataSource.getRepository(PortalUser).createQueryBuilder('u');
    if (principalId) qb.andWhere('u.principal_id = :principalId', { principalId });
    return paginate(qb, 'u', query);
  }

  pendingInvites(principalId: string): Promise<PortalInvite[]> {
    return this.dataSource
      .getRepository(PortalInvite)
      .createQueryBuilder('i')
      .where(`i.principal_id = :principalId AND ${OPEN_INVITE}`, { principalId })
      .orderBy('i.created_at', 'DESC')
      .getMany();
  }

  /** Whether a link's invitation was revoked (so the page can say so rather than "unknown or used"). */
  async inviteRevoked(token: string): Promise<boolean> {
    if (!TOKEN_PATTERN.test(token)) return false;
    return this.dataSource
      .getRepository(PortalInvite)
      .createQueryBuilder('i')
      .where('i.token_hash = :hash AND i.revoked_at IS NOT NULL', { hash: hashToken(token) })
      .getExists();
  }

  /** Takes back an open invitation; answers its principal. Used, expired, revoked or unknown ones are a 404. */
  async revokeInvite(inviteId: string, by: string): Promise<string> {
    const [rows] = await this.dataSource.query(`UPDATE portal_invites i SET revoked_at = now() WHERE id = $1 AND ${OPEN_INVITE} RETURNING principal_id`, [inviteId]);
    if (!rows.length) throw new AppError('not_found', HttpStatus.NOT_FOUND, 'Not found');
    this.logger.log(`invitation ${inviteId} revoked by portal user ${by}`);
    return rows[0].principal_id as string;
  }

  async updateSettings(userId: string, input: { name: string; timeZone: string }): Promise<void> {
    if (!input.name.trim()) throw invalidField('name', 'is required');
    if (!isTimeZone(input.timeZone)) throw invalidField('timeZone', 'is not a time zone');
    await this.dataSource.getRepository(PortalUser).update({ id: userId }, { name: input.name.trim().slice(0, 200), timeZone: input.timeZone });
  }

  /** A new password ends every other session of the user. */
  async changePassword(userId: string, sessionId: string, current: string, next: string): Promise<void> {
    const user = await this.dataSource.getRepository(PortalUser).createQueryBuilder('u').addSelect('u.passwordHash').where('u.id = :userId', { userId }).getOneOrFail();
    if (!(await verifyPassword(current, user.passwordHash))) throw invalidField('currentPassword', 'is not your current password');
    const problem = passwordProblem(next, user.email);
    if (problem) throw invalidField('newPassword', problem);
    await this.dataSource.getRepository(PortalUser).update({ id: userId }, { passwordHash: await hashPassword(next) });
    await this.sessions.endAll(userId, sessionId);
  }

  /** Admins disable or re-enable a person; disabling ends their sessions at once. */
  async setStatus(userId: string, status: PortalUserStatus): Promise<PortalUser> {
    const repo = this.dataSource.getRepository(PortalUser);
    const user = await repo.findOneBy({ id: userId });
    if (!user) throw new AppError('user_not_found', HttpStatus.NOT_FOUND, 'No such user');
    await repo.update({ id: userId }, { status });
    if (status === 'disabled') await this.sessions.endAll(userId);
    return { ...user, status };
  }

  getUser(userId: string): Promise<PortalUser | null> {
    return this.dataSource.getRepository(PortalUser).findOneBy({ id: userId });
  }

  private checkNewUser(input: NewUser, email: string): void {
    if (!input.name.trim()) throw invalidField('name', 'is required');
    const problem = passwordProblem(input.password, email);
    if (problem) throw invalidField('password', problem);
    if (!isTimeZone(input.timeZone)) throw invalidField('timeZone', 'is not a time zone');
  }

  private async insertUser(manager: EntityManager, principalId: string, email: string, input: NewUser): Promise<PortalUser> {
    const passwordHash = await hashPassword(input.password);
    const user = await manager.save(
      manager.create(PortalUser, { principalId, email: email.trim(), name: input.name.trim().slice(0, 200), timeZone: input.timeZone, passwordHash }),
    );
    this.logger.log(`portal user ${user.id} created for principal ${principalId}`);
    return user;
  }

  private findByEmail(manager: EntityManager, email: string): Promise<PortalUser | null> {
    return manager.getRepository(PortalUser).createQueryBuilder('u').where('lower(u.email) = lower(:email)', { email: email.trim() }).getOne();
  }

  /** createPrincipal issues an API key nobody will ever see on sign-up; revoking it leaves no stray credential. */
  private async discardFirstKey(principal: Principal): Promise<void> {
    const owner: AuthPrincipal = { id: principal.id, role: principal.role, name: principal.name, keyId: '' };
    for (const key of await this.principals.listApiKeys(owner)) await this.principals.revokeApiKey(owner, key.id);
  }
}
