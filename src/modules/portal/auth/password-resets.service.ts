import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Config } from '../../../config/configuration';
import { PortalPasswordReset } from '../portal.entities';
import { InviteMailer } from './invite-mailer';
import { hashPassword, passwordProblem } from './passwords';
import { SessionsService } from './sessions.service';
import { hashToken, newToken, TOKEN_PATTERN } from './tokens';

/** How long a reset link works. */
const RESET_TTL_MS = 60 * 60 * 1000;
/** Links one person may be sent per hour, whoever asks: a form cannot be used to flood an inbox. */
const RESETS_PER_HOUR = 3;

/**
 * "Forgot your password?": a one-time link by e-mail (SMTP_URL), good for an hour, stored hashed.
 * Asking says the same whether or not the address has an account; setting the new password
 * signs the person out everywhere.
 */
@Injectable()
export class PasswordResetsService {
  private readonly logger = new Logger(PasswordResetsService.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly mailer: InviteMailer,
    private readonly sessions: SessionsService,
    private readonly config: ConfigService<Config, true>,
  ) {}

  async request(email: string): Promise<void> {
    const [user]: { id: string; email: string }[] = await this.dataSource.query(`SELECT id, email FROM portal_users WHERE lower(email) = lower($1) AND status = 'active'`, [email]);
    if (!user) return;
    const [{ n }]: { n: number }[] = await this.dataSource.query(
      `SELECT count(*)::int AS n FROM portal_password_resets WHERE user_id = $1 AND created_at > now() - interval '1 hour'`,
      [user.id],
    );
    if (n >= RESETS_PER_HOUR) return;
    if (!this.mailer.enabled) {
      this.logger.warn('a password reset was asked for, but SMTP_URL is not set: no mail can carry the link (README, settings)');
      return;
    }
    const token = newToken();
    await this.dataSource.getRepository(PortalPasswordReset).insert({ userId: user.id, tokenHash: hashToken(token), expiresAt: new Date(Date.now() + RESET_TTL_MS) });
    await this.mailer.sendPasswordReset(user.email, `${this.config.get('app', { infer: true }).publicBaseUrl}/portal/reset/${token}`);
  }

  /** The person a live link is for, or null (unknown, used or expired). */
  async open(token: string): Promise<{ resetId: string; userId: string; email: string } | null> {
    if (!TOKEN_PATTERN.test(token)) return null;
    const [row]: { resetId: string; userId: string; email: string }[] = await this.dataSource.query(
      `SELECT r.id AS "resetId", u.id AS "userId", u.email
         FROM portal_password_resets r JOIN portal_users u ON u.id = r.user_id
        WHERE r.token_hash = $1 AND r.used_at IS NULL AND r.expires_at > now() AND u.status = 'active'`,
      [hashToken(token)],
    );
    return row ?? null;
  }

  /** Sets the new password once (the link is used up in the same statement) and ends every session; the problem with the password, or null. */
  async complete(token: string, password: string): Promise<{ problem: string | null; done: boolean }> {
    const reset = await this.open(token);
    if (!reset) return { problem: null, done: false };
    const problem = passwordProblem(password, reset.email);
    if (problem) return { problem, done: false };
    const hash = await hashPassword(password);
    const used = await this.dataSource.transaction(async (manager) => {
      const taken: unknown[] = await manager.query(`UPDATE portal_password_resets SET used_at = now() WHERE id = $1 AND used_at IS NULL RETURNING id`, [reset.resetId]);
      if (!taken.length) return false;
      await manager.query(`UPDATE portal_users SET password_hash = $2, updated_at = now() WHERE id = $1`, [reset.userId, hash]);
      return true;
    });
    if (used) await this.sessions.endAll(reset.userId);
    return { problem: null, done: used };
  }
}
