import { Body, Controller, Get, Header, HttpCode, Post, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AuthPrincipal, Public } from '../../common/auth';
import { RateLimitedError } from '../../common/errors';
import { PrincipalsService } from '../principals/principals.service';
import { RateLimiter } from '../throttling/rate-limiter.service';
import { BoardSessions } from './board-sessions';
import { BOARD_COOKIE, BOARD_PATH } from './queue-dashboard';

const page = (message = '') => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Afflux · queues sign-in</title>
<style>body{font:16px system-ui,sans-serif;max-width:28rem;margin:4rem auto;padding:0 1rem}input,button{font:inherit;width:100%;padding:.5rem;margin:.25rem 0}p.error{color:#b00020}</style></head>
<body><main><h1>Queue dashboard</h1><p>Sign in with an admin API key (<code>afx_adm_…</code>).</p>
${message ? `<p class="error" role="alert">${message}</p>` : ''}
<form method="post" action="/admin/login"><label for="key">Admin API key</label><input id="key" name="key" type="password" autocomplete="off" required>
<button type="submit">Sign in</button></form></main></body></html>`;

@ApiExcludeController()
@Public()
@Controller('admin')
export class OperationsController {
  constructor(
    private readonly principals: PrincipalsService,
    private readonly sessions: BoardSessions,
    private readonly limits: RateLimiter,
  ) {}

  @Get('login')
  @Header('content-type', 'text/html; charset=utf-8')
  login(): string {
    return page();
  }

  /** Exchanges an admin API key for a dashboard session cookie scoped to /admin. */
  @Post('login')
  @HttpCode(303)
  async signIn(@Req() request: FastifyRequest, @Body() body: { key?: unknown }, @Res() reply: FastifyReply): Promise<void> {
    const key = typeof body?.key === 'string' ? body.key.trim() : '';
    let principal: AuthPrincipal | null = null;
    try {
      await this.limits.consume('forms', `admin-login:${request.ip}`);
      if (key) principal = await this.principals.authenticate(key, request.ip);
    } catch (error) {
      if (error instanceof RateLimitedError) {
        return reply
          .status(429)
          .header('retry-after', String(error.retryAfterSeconds))
          .type('text/html; charset=utf-8')
          .send(page(`Too many attempts from your address. Try again in ${error.retryAfterSeconds} s.`));
      }
      // Any other refusal (unknown, revoked or suspended key) is the same 401 below.
    }
    if (principal?.role !== 'admin') {
      return reply.status(401).type('text/html; charset=utf-8').send(page('That is not an active admin API key.'));
    }
    const token = this.sessions.issue(principal.keyId);
    return reply.header('set-cookie', `${BOARD_COOKIE}=${token}; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=${this.sessions.maxAgeSeconds}`).redirect(BOARD_PATH, 303);
  }

  @Post('logout')
  async signOut(@Res() reply: FastifyReply): Promise<void> {
    return reply.header('set-cookie', `${BOARD_COOKIE}=; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=0`).redirect('/admin/login', 303);
  }
}
