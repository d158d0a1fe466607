import { applyDecorators, Controller, UseFilters, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Public } from '../../../common/auth';
import type { Role } from '../../principals/principal.entity';
import { PortalExceptionFilter } from './portal-exception.filter';
import { PortalRoles } from './portal-request';
import { PortalGuard } from './portal.guard';

/**
 * A controller of portal pages: no API key (the portal guard checks the session and CSRF
 * instead), errors as pages, out of the OpenAPI document, optionally for some roles only.
 */
export function PortalController(path: string, ...roles: Role[]): ClassDecorator {
  return applyDecorators(
    ApiExcludeController(),
    Public(),
    UseGuards(PortalGuard),
    UseFilters(PortalExceptionFilter),
    ...(roles.length ? [PortalRoles(...roles)] : []),
    Controller(path),
  );
}
