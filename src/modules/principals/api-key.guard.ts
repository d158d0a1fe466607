import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { AuthPrincipal, bearerKey, IS_PUBLIC, ROLES_KEY } from '../../common/auth';
import { ForbiddenError, UnauthorizedError } from '../../common/errors';
import type { Role } from './principal.entity';
import { PrincipalsService } from './principals.service';

/** Global guard: every route needs a valid key unless marked @Public(); @Roles narrows who may call. */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly principals: PrincipalsService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
    const request = context.switchToHttp().getRequest<FastifyRequest & { principal?: AuthPrincipal }>();
    const key = bearerKey(request.headers.authorization);
    if (!key) throw new UnauthorizedError('A valid API key is required (Authorization: Bearer afx_…)');
    const principal = await this.principals.authenticate(key, request.ip);
    request.principal = principal;
    const roles = this.reflector.getAllAndOverride<Role[] | undefined>(ROLES_KEY, targets);
    if (roles && !roles.includes(principal.role)) {
      throw new ForbiddenError('forbidden', `This endpoint is not open to ${principal.role}s`);
    }
    return true;
  }
}
