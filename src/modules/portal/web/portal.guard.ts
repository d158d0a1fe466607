import { CanActivate, ExecutionContext, HttpStatus, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AppError } from '../../../common/errors';
import type { Role } from '../../principals/principal.entity';
import { SessionsService } from '../auth/sessions.service';
import { sameToken } from '../auth/tokens';
import { actorOf } from '../auth/users.service';
import {
  CSRF_FIELD,
  CSRF_HEADER,
  PORTAL_ALLOW_PENDING,
  PORTAL_ANONYMOUS,
  PORTAL_ROLES,
  PortalRedirect,
  PortalRequest,
  PRE_SESSION_COOKIE,
  readCookie,
  SESSION_COOKIE,
} from './portal-request';

const SAFE_METHODS = new Set(['GET', 'HEAD']);

export function csrfRefused(): AppError {
  return new AppError('csrf_failed', HttpStatus.FORBIDDEN, 'This form has expired or did not come from this site. Reload the page and try again.');
}

function submittedToken(request: PortalRequest): unknown {
  const body = request.body as Record<string, unknown> | undefined;
  return request.headers[CSRF_HEADER] ?? (body && typeof body === 'object' ? body[CSRF_FIELD] : undefined);
}

/**
 * The portal's sign-in and CSRF check: resolves the session cookie, refuses a POST whose token
 * does not match the session's (or, before a session exists, the double-submit cookie's), and
 * keeps each role to its own pages.
 */
@Injectable()
export class PortalGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly sessions: SessionsService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<PortalRequest>();
    const targets = [context.getHandler(), context.getClass()];
    const signedIn = await this.sessions.resolve(readCookie(request, SESSION_COOKIE));
    if (signedIn) request.portal = { ...signedIn, actor: actorOf(signedIn) };
    const unsafe = !SAFE_METHODS.has(request.method);

    if (this.reflector.getAllAndOverride<boolean>(PORTAL_ANONYMOUS, targets)) {
      if (unsafe && !sameToken(submittedToken(request), readCookie(request, PRE_SESSION_COOKIE) ?? '')) throw csrfRefused();
      return true;
    }
    if (!signedIn) {
      if (unsafe) throw new AppError('signed_out', HttpStatus.UNAUTHORIZED, 'You are signed out. Sign in again, then repeat what you were doing.');
      throw new PortalRedirect(`/portal/login?next=${encodeURIComponent(request.url)}`);
    }
    if (unsafe && !sameToken(submittedToken(request), signedIn.csrfToken)) throw csrfRefused();
    const roles = this.reflector.getAllAndOverride<Role[] | undefined>(PORTAL_ROLES, targets);
    if (roles && !roles.includes(signedIn.role)) throw new AppError('not_found', HttpStatus.NOT_FOUND, 'Not found');
    if (signedIn.principalStatus === 'pending' && !this.reflector.getAllAndOverride<boolean>(PORTAL_ALLOW_PENDING, targets)) {
      throw new PortalRedirect('/portal/pending');
    }
    return true;
  }
}
