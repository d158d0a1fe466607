import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Config } from '../../../config/configuration';
import { newToken, TOKEN_PATTERN } from '../auth/tokens';
import { PRE_SESSION_COOKIE, readCookie, SESSION_COOKIE } from './portal-request';

/** The portal's cookies: httpOnly, SameSite=Lax, scoped to /portal, Secure when the public URL is https. */
@Injectable()
export class PortalCookies {
  private readonly secure: boolean;

  constructor(config: ConfigService<Config, true>) {
    this.secure = config.get('app', { infer: true }).publicBaseUrl.startsWith('https:');
  }

  private set(reply: FastifyReply, name: string, value: string, maxAgeSeconds: number): void {
    const flags = [`${name}=${value}`, 'Path=/portal', 'HttpOnly', 'SameSite=Lax', `Max-Age=${maxAgeSeconds}`, ...(this.secure ? ['Secure'] : [])];
    const previous = reply.getHeader('set-cookie');
    const list = Array.isArray(previous) ? previous : previous ? [String(previous)] : [];
    reply.header('set-cookie', [...list, flags.join('; ')]);
  }

  startSession(reply: FastifyReply, token: string, maxAgeSeconds: number): void {
    this.set(reply, SESSION_COOKIE, token, maxAgeSeconds);
  }

  endSession(reply: FastifyReply): void {
    this.set(reply, SESSION_COOKIE, '', 0);
  }

  /** The double-submit token of the anonymous forms, set on first sight. */
  preSessionToken(request: FastifyRequest, reply: FastifyReply): string {
    const existing = readCookie(request, PRE_SESSION_COOKIE);
    if (existing && TOKEN_PATTERN.test(existing)) return existing;
    const token = newToken();
    this.set(reply, PRE_SESSION_COOKIE, token, 24 * 3600);
    return token;
  }
}
