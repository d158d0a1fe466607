import { Body, Get, HttpStatus, Param, Post, Req, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { AppError } from '../../../common/errors';
import { ParseIdPipe } from '../../../common/http/parse-id.pipe';
import { PrincipalsService } from '../../principals/principals.service';
import { ApiKeyDto } from '../../principals/dto/principals.dto';
import { SessionsService } from '../auth/sessions.service';
import { TwoFactorService, TwoFactorSetup } from '../auth/two-factor.service';
import { UsersService } from '../auth/users.service';
import { opt, str, tryForm } from '../web/forms';
import { AllowPending, Me, PortalContext, PortalRequest } from '../web/portal-request';
import { PortalController } from '../web/portal-controller';
import { PortalViews } from '../web/portal-views';
import { TIME_ZONES } from '../web/format';

type Form = Record<string, unknown>;

/** Every role's own account: settings, password, sessions, API keys. */
@PortalController('portal')
export class AccountController {
  constructor(
    private readonly views: PortalViews,
    private readonly users: UsersService,
    private readonly sessions: SessionsService,
    private readonly principals: PrincipalsService,
    private readonly twoFactor: TwoFactorService,
  ) {}

  @Get('settings')
  @AllowPending()
  async settings(@Me() me: PortalContext, @Req() request: PortalRequest, @Res() reply: FastifyReply) {
    return this.settingsPage(me, request, reply, { name: me.userName, timeZone: me.timeZone });
  }

  @Post('settings')
  @AllowPending()
  async saveSettings(@Me() me: PortalContext, @Req() request: PortalRequest, @Res() reply: FastifyReply, @Body() body: Form) {
    const values = { name: str(body, 'name'), timeZone: str(body, 'timeZone') };
    const problem = await tryForm(() => this.users.updateSettings(me.userId, values));
    if (!problem) return this.views.redirect(request, reply, '/portal/settings?notice=saved');
    return this.settingsPage(me, request, reply, values, problem, 422);
  }

  @Post('settings/password')
  @AllowPending()
  async changePassword(@Me() me: PortalContext, @Req() request: PortalRequest, @Res() reply: FastifyReply, @Body() body: Form) {
    const text = (name: string) => (typeof body[name] === 'string' ? (body[name] as string) : '');
    const problem = await tryForm(() => this.users.changePassword(me.userId, me.sessionId, text('currentPassword'), text('newPassword')));
    if (!problem) return this.views.redirect(request, reply, '/portal/settings?notice=password_changed');
    return this.settingsPage(me, request, reply, { name: me.userName, timeZone: me.timeZone }, problem, 422);
  }

  /** Shows a new secret (otpauth:// URI, text and QR code) to confirm with a current code. */
  @Post('settings/two-factor')
  @AllowPending()
  async setUpTwoFactor(@Me() me: PortalContext, @Req() request: PortalRequest, @Res() reply: FastifyReply) {
    if (await this.twoFactor.enabledAt(me.userId)) return this.views.redirect(request, reply, '/portal/settings');
    const setup = await this.twoFactor.setup(me.userId, me.email, true);
    return this.settingsPage(me, request, reply, { name: me.userName, timeZone: me.timeZone }, undefined, 200, setup);
  }

  /** Turns two-factor sign-in on with a current code of the secret shown; other browsers are signed out. */
  @Post('settings/two-factor/enable')
  @AllowPending()
  async enableTwoFactor(@Me() me: PortalContext, @Req() request: PortalRequest, @Res() reply: FastifyReply, @Body() body: Form) {
    const problem = await tryForm(() => this.twoFactor.enable(me.userId, str(body, 'code').replace(/\s/g, '')));
    if (!problem) {
      await this.sessions.endAll(me.userId, me.sessionId);
      return this.views.redirect(request, reply, '/portal/settings?notice=two_factor_on');
    }
    const setup = await this.twoFactor.setup(me.userId, me.email, false);
    return this.settingsPage(me, request, reply, { name: me.userName, timeZone: me.timeZone }, problem, 422, setup);
  }

  /** Turns it off; takes a current code. */
  @Post('settings/two-factor/disable')
  @AllowPending()
  async disableTwoFactor(@Me() me: PortalContext, @Req() request: PortalRequest, @Res() reply: FastifyReply, @Body() body: Form) {
    const problem = await tryForm(() => this.twoFactor.disable(me.userId, str(body, 'code').replace(/\s/g, '')));
    if (!problem) return this.views.redirect(request, reply, '/portal/settings?notice=two_factor_off');
    return this.settingsPage(me, request, reply, { name: me.userName, timeZone: me.timeZone }, problem, 422);
  }

  @Get('api-keys')
  async apiKeys(@Me() me: PortalContext, @Req() request: PortalRequest, @Res() reply: FastifyReply) {
    return this.keysPage(me, request, reply);
  }

  /** The key is shown on this one response and never again (only its hash is stored). */
  @Post('api-keys')
  async createKey(@Me() me: PortalContext, @Req() request: PortalRequest, @Res() reply: FastifyReply, @Body() body: Form) {
    const label = opt(body, 'label')?.slice(0, 100) ?? null;
    const { key, row } = await this.principals.createApiKey(me.actor, undefined, label);
    return this.keysPage(me, request, reply, { key, created: ApiKeyDto.from(row) }, 201);
  }

  @Post('api-keys/:id/revoke')
  async revokeKey(@Me() me: PortalContext, @Req() request: PortalRequest, @Res() reply: FastifyReply, @Param('id', ParseIdPipe) id: string) {
    // Only the person's own principal's keys, admins included: another principal's key id is a 404 here.
    if (!(await this.principals.listApiKeys(me.actor)).some((k) => k.id === id)) throw new AppError('not_found', HttpStatus.NOT_FOUND, 'Not found');
    await this.principals.revokeApiKey(me.actor, id);
    return this.views.redirect(request, reply, '/portal/api-keys?notice=revoked');
  }

  private async settingsPage(
    me: PortalContext,
    request: PortalRequest,
    reply: FastifyReply,
    values: Record<string, unknown>,
    problem?: unknown,
    status = 200,
    twoFactorSetup?: TwoFactorSetup,
  ) {
    const [sessions, twoFactorSince] = await Promise.all([this.sessions.countFor(me.userId), this.twoFactor.enabledAt(me.userId)]);
    return this.views.page(request, reply, me, 'settings', { title: 'Settings', values, problem, timeZones: TIME_ZONES, sessions, twoFactorSince, twoFactorSetup }, status);
  }

  private async keysPage(me: PortalContext, request: PortalRequest, reply: FastifyReply, fresh?: { key: string; created: ApiKeyDto }, status = 200) {
    const keys = await this.principals.listApiKeys(me.actor);
    return this.views.page(request, reply, me, 'api-keys', { title: 'API keys', keys, fresh }, status);
  }
}
