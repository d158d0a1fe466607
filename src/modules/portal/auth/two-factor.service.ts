import { HttpStatus, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Secret, TOTP } from 'otpauth';
import { toString as qrSvg } from 'qrcode';
import { DataSource } from 'typeorm';
import { AppError, invalidField } from '../../../common/errors';
import { RedisService } from '../../../queue/redis.service';
import { PortalUser } from '../portal.entities';
import { LoginThrottleService } from './login-throttle.service';
import { hashToken, newToken, TOKEN_PATTERN } from './tokens';

const PERIOD_S = 30;
/** A secret being set up waits this long for its first code. */
const SETUP_TTL_S = 10 * 60;
/** Between the password and the code of a sign-in. */
const PENDING_LOGIN_TTL_S = 5 * 60;
const CODE = /^\d{6}$/;

export interface TwoFactorSetup {
  secret: string;
  uri: string;
  qr: string;
}

export interface PendingLogin {
  userId: string;
  email: string;
  next: string;
}

function totp(secret: string, email: string): TOTP {
  return new TOTP({ issuer: 'Afflux', label: email, algorithm: 'SHA1', digits: 6, period: PERIOD_S, secret: Secret.fromBase32(secret) });
}

/** The 30-second step a code belongs to (one step of drift either way), or null when it is wrong. */
function stepOf(secret: string, email: string, code: string): number | null {
  if (!CODE.test(code)) return null;
  const delta = totp(secret, email).validate({ token: code, window: 1 });
  return delta === null ? null : Math.floor(Date.now() / 1000 / PERIOD_S) + delta;
}

const wrongCode = () => invalidField('code', 'is not the current code of your authenticator app');

/**
 * Optional TOTP two-factor sign-in (RFC 6238, what authenticator apps speak). Turning it on shows a
 * new secret and keeps it in Redis until a current code confirms it; sign-in then asks for a code
 * after the password, under a short-lived pending-login token; turning it off takes a current code.
 * Each code is accepted once: the step it belongs to must be later than the last one accepted.
 */
@Injectable()
export class TwoFactorService {
  private readonly logger = new Logger(TwoFactorService.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly redis: RedisService,
    private readonly throttle: LoginThrottleService,
  ) {}

  /** When two-factor sign-in was turned on, or null while it is off. */
  async enabledAt(userId: string): Promise<Date | null> {
    const user = await this.dataSource.getRepository(PortalUser).findOne({ where: { id: userId }, select: { id: true, totpEnabledAt: true } });
    return user?.totpEnabledAt ?? null;
  }

  /** A new secret for the person (or the one already waiting for its code), with its otpauth:// URI and QR code. */
  async setup(userId: string, email: string, fresh: boolean): Promise<TwoFactorSetup> {
    const key = this.setupKey(userId);
    let secret = fresh ? null : await this.redis.client.get(key);
    if (!secret) {
      secret = new Secret({ size: 20 }).base32;
      await this.redis.client.set(key, secret, 'EX', SETUP_TTL_S);
    }
    const uri = totp(secret, email).toString();
    return { secret, uri, qr: await qrSvg(uri, { type: 'svg', margin: 1, errorCorrectionLevel: 'M' }) };
  }

  /** Turns two-factor sign-in on once a current code of the secret being set up is given. */
  async enable(userId: string, code: string): Promise<void> {
    const secret = await this.redis.client.get(this.setupKey(userId));
    if (!secret) throw invalidField('code', 'belongs to a setup that expired: add the new secret below to your app');
    const { email } = await this.dataSource.getRepository(PortalUser).findOneOrFail({ where: { id: userId }, select: { id: true, email: true } });
    const step = stepOf(secret, email, code);
    if (step === null) throw wrongCode();
    await this.dataSource.query(`UPDATE portal_users SET totp_secret = $2, totp_enabled_at = now(), totp_last_step = $3, updated_at = now() WHERE id = $1`, [userId, secret, step]);
    await this.redis.client.del(this.setupKey(userId));
    this.logger.log(`two-factor sign-in turned on for portal user ${userId}`);
  }

  /** Turns it off; takes a current code (not one already used). */
  async disable(userId: string, code: string): Promise<void> {
    if (!(await this.accept(userId, code))) throw wrongCode();
    await this.dataSource.query(`UPDATE portal_users SET totp_secret = NULL, totp_enabled_at = NULL, totp_last_step = NULL, updated_at = now() WHERE id = $1`, [userId]);
    this.logger.log(`two-factor sign-in turned off for portal user ${userId}`);
  }

  /** An admin's way out for a person who lost their device: off, and signed out everywhere. Answers the person's principal. */
  async reset(userId: string): Promise<string> {
    const [rows] = (await this.dataSource.query(
      `UPDATE portal_users SET totp_secret = NULL, totp_enabled_at = NULL, totp_last_step = NULL, updated_at = now() WHERE id = $1 RETURNING principal_id AS "principalId"`,
      [userId],
    )) as [{ principalId: string }[], number];
    if (!rows.length) throw new AppError('not_found', HttpStatus.NOT_FOUND, 'Not found');
    await this.dataSource.query(`DELETE FROM portal_sessions WHERE user_id = $1`, [userId]);
    this.logger.log(`two-factor sign-in of portal user ${userId} reset by an admin`);
    return rows[0].principalId;
  }

  /** After a right password: the token of the second step, good for five minutes. */
  async startLogin(login: PendingLogin): Promise<string> {
    const token = newToken();
    await this.redis.client.set(this.loginKey(token), JSON.stringify(login), 'EX', PENDING_LOGIN_TTL_S);
    return token;
  }

  async pendingLogin(token: string): Promise<PendingLogin | null> {
    if (!TOKEN_PATTERN.test(token)) return null;
    const kept = await this.redis.client.get(this.loginKey(token));
    return kept ? (JSON.parse(kept) as PendingLogin) : null;
  }

  /**
   * The second step: each code counts against the sign-in throttle of the account and address
   * (the right password did not clear it), and a right code ends the pending login.
   */
  async finishLogin(token: string, login: PendingLogin, code: string, ip: string): Promise<'ok' | 'wrong' | number> {
    const minutes = await this.throttle.attempt(login.email, ip);
    if (minutes > 0) return minutes;
    if (!(await this.accept(login.userId, code))) return 'wrong';
    // Only one browser finishes a pending login.
    if (!(await this.redis.client.del(this.loginKey(token)))) return 'wrong';
    await this.throttle.succeeded(login.email, ip);
    return 'ok';
  }

  /** Whether `code` is current for the person's secret and later than the last code accepted (recorded atomically). */
  private async accept(userId: string, code: string): Promise<boolean> {
    const user = await this.dataSource.getRepository(PortalUser).findOne({ where: { id: userId }, select: { id: true, email: true, totpSecret: true } });
    if (!user?.totpSecret) return false;
    const step = stepOf(user.totpSecret, user.email, code);
    if (step === null) return false;
    const [, updated] = (await this.dataSource.query(
      `UPDATE portal_users SET totp_last_step = $2 WHERE id = $1 AND totp_secret IS NOT NULL AND (totp_last_step IS NULL OR totp_last_step < $2)`,
      [userId, step],
    )) as [unknown, number];
    return updated === 1;
  }

  private setupKey(userId: string): string {
    return this.redis.key('portal', 'totp-setup', userId);
  }

  private loginKey(token: string): string {
    return this.redis.key('portal', 'login-2fa', hashToken(token).toString('base64url'));
  }
}
