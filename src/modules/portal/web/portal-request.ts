import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { AuthPrincipal } from '../../../common/auth';
import type { Role } from '../../principals/principal.entity';
import type { SignedIn } from '../auth/sessions.service';

export const SESSION_COOKIE = 'afx_session';
/** Double-submit token for the forms shown before a session exists (sign-in, sign-up, invitations). */
export const PRE_SESSION_COOKIE = 'afx_csrf';
export const CSRF_FIELD = '_csrf';
export const CSRF_HEADER = 'x-csrf-token';

/** The signed-in person, their principal, and the actor the feature services take. */
export interface PortalContext extends SignedIn {
  actor: AuthPrincipal;
}

export type PortalRequest = FastifyRequest & { portal?: PortalContext };

export const PORTAL_ROLES = 'afx:portal-roles';
export const PORTAL_ANONYMOUS = 'afx:portal-anonymous';
export const PORTAL_ALLOW_PENDING = 'afx:portal-allow-pending';

/** Pages for these roles only; others get the 404 page (a page they may not see does not exist for them). */
export const PortalRoles = (...roles: Role[]) => SetMetadata(PORTAL_ROLES, roles);
/** Reachable without a session (sign-in, sign-up, invitations, assets). */
export const Anonymous = () => SetMetadata(PORTAL_ANONYMOUS, true);
/** Reachable by an affiliate whose sign-up awaits approval. */
export const AllowPending = () => SetMetadata(PORTAL_ALLOW_PENDING, true);

export const Me = createParamDecorator((_: unknown, ctx: ExecutionContext): PortalContext => {
  return ctx.switchToHttp().getRequest<PortalRequest>().portal as PortalContext;
});

export function readCookie(request: FastifyRequest, name: string): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const index = part.indexOf('=');
    if (index > 0 && part.slice(0, index).trim() === name) return part.slice(index + 1).trim();
  }
  return undefined;
}

export function isHtmx(request: FastifyRequest): boolean {
  return request.headers['hx-request'] === 'true';
}

/** A path inside the portal to go back to after a form; anything else (other hosts, `//evil`) falls back. */
export function safeReturn(value: unknown, fallback: string): string {
  return typeof value === 'string' && /^\/portal(\/[\w\-./]*)?(\?[^\s#]*)?$/.test(value) && !value.includes('..') ? value : fallback;
}

/** A portal path with `notice=<code>` set (replacing any earlier notice), for a redirect after a change. */
export function withNotice(path: string, notice: string): string {
  const [pathname, search = ''] = path.split('?');
  const params = new URLSearchParams(search);
  params.set('notice', notice);
  return `${pathname}?${params.toString()}`;
}

/** Thrown to send the browser elsewhere (sign-in, pending page); the portal filter answers 303. */
export class PortalRedirect extends Error {
  constructor(readonly location: string) {
    super(`redirect to ${location}`);
  }
}
