import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { PrincipalStatus, Role } from '../../principals/principal.entity';
import { principalsRepository } from '../../principals/principals.repository';
import { PortalSession } from '../portal.entities';
import { hashToken, newToken, TOKEN_PATTERN } from './tokens';

/** Sessions slide: each use within the last day pushes the end out again, up to an absolute limit. */
const IDLE_MS = 7 * 24 * 3600 * 1000;
const ABSOLUTE_MS = 30 * 24 * 3600 * 1000;
const TOUCH_EVERY_MS = 3600 * 1000;

/** Who a session cookie signs in: the session, its user and the user's principal. */
export interface SignedIn {
  sessionId: string;
  csrfToken: string;
  userId: string;
  email: string;
  userName: string;
  timeZone: string;
  principalId: string;
  principalName: string;
  role: Role;
  principalStatus: PrincipalStatus;
}

const RESOLVE = `
  SELECT s.id AS "sessionId", s.csrf_token AS "csrfToken", s.last_seen_at AS "lastSeenAt", s.created_at AS "createdAt",
         u.id AS "userId", u.email, u.name AS "userName", u.time_zone AS "timeZone", u.principal_id AS "principalId"
    FROM portal_sessions s
    JOIN portal_users u ON u.id = s.user_id AND u.status = 'active'
   WHERE s.token_hash = $1 AND s.expires_at > now()`;

@Injectable()
export class SessionsService {
  private readonly logger = new Logger(SessionsService.name);

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Starts a session; answers the cookie's token, which is stored only as its hash. */
  async create(userId: string, ip: string | null, userAgent: string | null): Promise<{ token: string; maxAgeSeconds: number }> {
    const token = newToken();
    const repo = this.dataSource.getRepository(PortalSession);
    const now = Date.now();
    await repo.insert({
      userId,
      tokenHash: hashToken(token),
      csrfToken: newToken(),
      ip,
      userAgent: userAgent?.slice(0, 500) ?? null,
      lastSeenAt: new Date(now),
      expiresAt: new Date(now + IDLE_MS),
    });
    await this.dataSource.query(`UPDATE portal_users SET last_login_at = now() WHERE id = $1`, [userId]);
    // Expired sessions are deleted by the retention job (SessionRetention).
    this.logger.log(`session started for portal user ${userId}`);
    return { token, maxAgeSeconds: IDLE_MS / 1000 };
  }

  async resolve(token: string | undefined): Promise<SignedIn | null> {
    if (!token || !TOKEN_PATTERN.test(token)) return null;
    const [row]: (Omit<SignedIn, 'principalName' | 'role' | 'principalStatus'> & { lastSeenAt: Date; createdAt: Date })[] = await this.dataSource.query(RESOLVE, [
      hashToken(token),
    ]);
    if (!row) return null;
    // Who the user acts for comes from the principals module (its table, its repository).
    const principal = await principalsRepository.find(this.dataSource.manager, row.principalId);
    // A turned-away applicant is signed out at once (as its API keys stop working).
    if (!principal || principal.status === 'rejected') return null;
    const now = Date.now();
    if (now - row.lastSeenAt.getTime() > TOUCH_EVERY_MS) {
      const expiresAt = new Date(Math.min(now + IDLE_MS, row.createdAt.getTime() + ABSOLUTE_MS));
      await this.dataSource.query(`UPDATE portal_sessions SET last_seen_at = now(), expires_at = $2 WHERE id = $1`, [row.sessionId, expiresAt]);
    }
    const { lastSeenAt: _seen, createdAt: _created, ...signedIn } = row;
    return { ...signedIn, principalName: principal.name, role: principal.role, principalStatus: principal.status };
  }

  async end(sessionId: string): Promise<void> {
    await this.dataSource.getRepository(PortalSession).delete({ id: sessionId });
  }

  /** Signs the user out on every browser (all sessions but `keep`, if given). */
  async endAll(userId: string, keep?: string): Promise<number> {
    const result = await this.dataSource.query(`DELETE FROM portal_sessions WHERE user_id = $1 AND ($2::uuid IS NULL OR id <> $2)`, [userId, keep ?? null]);
    this.logger.log(`ended ${result[1]} sessions of portal user ${userId}`);
    return result[1];
  }

  countFor(userId: string): Promise<number> {
    return this.dataSource.getRepository(PortalSession).countBy({ userId });
  }
}
