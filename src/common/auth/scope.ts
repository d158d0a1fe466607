import type { AuthPrincipal } from './auth.decorators';

/** Roles that read across principals: the operator's own staff. */
export function isStaff(principal: AuthPrincipal): boolean {
  return principal.role === 'admin' || principal.role === 'finance';
}
