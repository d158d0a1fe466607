import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import type { Role } from './roles';

export interface AuthPrincipal {
  id: string;
  role: Role;
  name: string;
  keyId: string;
}

export const IS_PUBLIC = 'afx:public';
export const ROLES_KEY = 'afx:roles';

/** No API key needed: the route has its own protection (signature, token) or none by design. */
export const Public = () => SetMetadata(IS_PUBLIC, true);

/** Roles allowed on a route or controller; every other authenticated role gets 403. */
export const Roles = (...roles: Role[]) => SetMetadata(ROLES_KEY, roles);

export const CurrentPrincipal = createParamDecorator((_: unknown, ctx: ExecutionContext): AuthPrincipal => {
  return ctx.switchToHttp().getRequest<{ principal: AuthPrincipal }>().principal;
});
