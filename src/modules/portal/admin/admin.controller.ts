import { Body, Get, HttpStatus, Param, Post, Query, Req, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { AppError, invalidField } from '../../../common/errors';
import { ParseIdPipe } from '../../../common/http/parse-id.pipe';
import { PrincipalsService } from '../../principals/principals.service';
import { CreatePrincipalDto } from '../../principals/dto/principals.dto';
import { PRINCIPAL_STATUSES, PrincipalStatus, Role, ROLES } from '../../principals/principal.entity';
import { RedisService } from '../../../queue/redis.service';
import { TwoFactorService } from '../auth/two-factor.service';
import { UsersService } from '../auth/users.service';
import { str, toDto, tryForm } from '../web/forms';
import { Me, PortalContext, PortalRequest } from '../web/portal-request';
import { oneOf } from '../web/one-of.pipe';
import { PortalController } from '../web/portal-controller';
import { PortalViews } from '../web/portal-views';

type Form = Record<string, unknown>;
type Q = Record<string, unknown>;

/** How long the first API key of a new partner stays on its "created" page. */
const CREATED_TTL_S = 15 * 60;

const AFFILIATE_STATUS = { approve: 'active', suspend: 'suspended', reactivate: 'active' } as const;

/** The operator's side: principals and their people, approvals of pending affiliates, suspensions. */
@PortalController('portal/admin', 'admin')
export class AdminController {
  constructor(
    private readonly views: PortalViews,
    private readonly principalsService: PrincipalsService,
    private readonly users: UsersService,
    private readonly redis: RedisService,
    private readonly twoFactor: TwoFactorService,
  ) {}

  @Get()
  async principals(@Me() me: PortalContext, @Req() request: PortalRequest, @Res() reply: FastifyReply, @Query() query: Q) {
    const role: Role = typeof query.role === 'string' && (ROLES as readonly string[]).includes(query.role) ? (query.role as Role) : 'affiliate';
    const status = typeof query.status === 'string' && (PRINCIPAL_STATUSES as readonly string[]).includes(query.status) ? (query.status as PrincipalStatus) : undefined;
    const cursor = typeof query.cursor === 'string' ? query.cursor : undefined;
    // Applicants waiting are few (they are approved or turned away): counted from the list.
    const [page, pending] = await Promise.all([
      this.principalsService.pagePrincipals(role, status, { cursor, limit: 50 }),
      this.principalsService.listPrincipals('affiliate', 'pending'),
    ]);
    const pendingCount = pending.length;
    return this.views.page(request, reply, me, 'admin/principals', { title: 'Partners', page, role, status, cursor, roles: ROLES, pendingCount });
  }

  @Get('principals/new')
  newPrincipal(@Me() me: PortalContext, @Req() request: PortalRequest, @Res() reply: FastifyReply, @Query() query: Q) {
    return this.views.page(request, reply, me, 'admin/new-principal', {
      title: 'New partner',
      roles: ROLES,
      values: { role: typeof query.role === 'string' ? query.role : 'advertiser' },
    });
  }

  /** Creates the principal through PrincipalsService (first API key shown once) and invites its first person. */
  @Post('principals')
  async createPrincipal(@Me() me: PortalContext, @Req() request: PortalRequest, @Res() reply: FastifyReply, @Body() body: Form) {
    const values = { role: str(body, 'role'), name: str(body, 'name'), email: str(body, 'email') };
    let created: { id: string; apiKey: string; postbackToken?: string; link: string; mailed: boolean } | undefined;
    const problem = await tryForm(async () => {
      if (!(ROLES as readonly string[]).includes(values.role)) throw invalidField('role', 'choose a role');
      const dto = await toDto(CreatePrincipalDto, { name: values.name, email: values.email });
      const { principal, apiKey, postbackToken } = await this.principalsService.createPrincipal(values.role as Role, dto);
      const invite = await this.users.invite(me, principal.id, dto.email);
      created = { id: principal.id, apiKey, postbackToken, ...invite };
    });
    if (created) {
      // Post/redirect/get: the one-time key waits in Redis for this person only, so a reload shows it again instead of posting twice.
      await this.redis.client.set(this.createdKey(me, created.id), JSON.stringify({ created, values }), 'EX', CREATED_TTL_S);
      return this.views.redirect(request, reply, `/portal/admin/principals/${created.id}/created`);
    }
    return this.views.page(request, reply, me, 'admin/new-principal', { title: 'New partner', roles: ROLES, values, problem }, 422);
  }

  /** The page after creating a partner: its first API key and invitation link, for 15 minutes, to the admin who created it. */
  @Get('principals/:id/created')
  async created(@Me() me: PortalContext, @Req() request: PortalRequest, @Res() reply: FastifyReply, @Param('id', ParseIdPipe) id: string) {
    const kept = await this.redis.client.get(this.createdKey(me, id));
    if (!kept) return this.views.redirect(request, reply, `/portal/admin/principals/${id}`);
    return this.views.page(request, reply, me, 'admin/created', { title: 'Partner created', ...(JSON.parse(kept) as object) });
  }

  private createdKey(me: PortalContext, principalId: string): string {
    return this.redis.key('portal', 'created', me.userId, principalId);
  }

  @Get('principals/:id')
  async principal(@Me() me: PortalContext, @Req() request: PortalRequest, @Res() reply: FastifyReply, @Param('id', ParseIdPipe) id: string, @Query() query: Q) {
    return this.principalPage(me, request, reply, id, query, {});
  }

  @Post('principals/:id/invite')
  async invite(@Me() me: PortalContext, @Req() request: PortalRequest, @Res() reply: FastifyReply, @Param('id', ParseIdPipe) id: string, @Body() body: Form) {
    const email = str(body, 'email');
    let invite: { link: string; mailed: boolean } | undefined;
    const problem = await tryForm(async () => {
      if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) throw invalidField('email', 'must be an email address');
      invite = await this.users.invite(me, id, email);
    });
    return this.principalPage(me, request, reply, id, {}, { invite, problem, values: { email: invite ? '' : email } }, invite ? 201 : 422);
  }

  @Post('invites/:id/revoke')
  async revokeInvite(@Me() me: PortalContext, @Req() request: PortalRequest, @Res() reply: FastifyReply, @Param('id', ParseIdPipe) id: string) {
    const principalId = await this.users.revokeInvite(id, me.userId);
    return this.views.redirect(request, reply, `/portal/admin/principals/${principalId}?notice=invite_revoked`);
  }

  /** Turns a pending application away, with an optional reason kept for the record; its people can no longer sign in. */
  @Post('principals/:id/reject')
  async reject(@Me() me: PortalContext, @Req() request: PortalRequest, @Res() reply: FastifyReply, @Param('id', ParseIdPipe) id: string, @Body() body: Form) {
    const reason = str(body, 'reason').slice(0, 500);
    await this.principalsService.updateAffiliate(id, { status: 'rejected', ...(reason ? { rejectionReason: reason } : {}) });
    return this.views.redirect(request, reply, `/portal/admin/principals/${id}?notice=rejected`);
  }

  @Post('principals/:id/:action')
  async setAffiliateStatus(
    @Me() me: PortalContext,
    @Req() request: PortalRequest,
    @Res() reply: FastifyReply,
    @Param('id', ParseIdPipe) id: string,
    @Param('action', oneOf('approve', 'suspend', 'reactivate')) action: keyof typeof AFFILIATE_STATUS,
  ) {
    await this.principalsService.updateAffiliate(id, { status: AFFILIATE_STATUS[action] });
    return this.views.redirect(request, reply, `/portal/admin/principals/${id}?notice=${action === 'suspend' ? 'suspended' : action === 'approve' ? 'approved' : 'activated'}`);
  }

  /** For a person who lost their authenticator: two-factor sign-in off, every session ended; they sign in with the password and may set it up again. */
  @Post('users/:id/two-factor/reset')
  async resetTwoFactor(@Me() me: PortalContext, @Req() request: PortalRequest, @Res() reply: FastifyReply, @Param('id', ParseIdPipe) id: string) {
    const principalId = await this.twoFactor.reset(id);
    return this.views.redirect(request, reply, `/portal/admin/principals/${principalId}?notice=two_factor_reset`);
  }

  @Post('users/:id/:action')
  async setUserStatus(
    @Me() me: PortalContext,
    @Req() request: PortalRequest,
    @Res() reply: FastifyReply,
    @Param('id', ParseIdPipe) id: string,
    @Param('action', oneOf('disable', 'enable')) action: 'disable' | 'enable',
  ) {
    if (id === me.userId) throw new AppError('cannot_disable_self', HttpStatus.CONFLICT, 'You cannot disable your own account.');
    const user = await this.users.setStatus(id, action === 'disable' ? 'disabled' : 'active');
    return this.views.redirect(request, reply, `/portal/admin/principals/${user.principalId}?notice=${action === 'disable' ? 'disabled' : 'activated'}`);
  }

  private async principalPage(me: PortalContext, request: PortalRequest, reply: FastifyReply, id: string, query: Q, extra: Record<string, unknown>, status = 200) {
    const principal = await this.principalsService.getPrincipal(id);
    const cursor = typeof query.cursor === 'string' ? query.cursor : undefined;
    const [people, invites] = await Promise.all([this.users.pageUsers(id, { cursor, limit: 50 }), this.users.pendingInvites(id)]);
    return this.views.page(request, reply, me, 'admin/principal', { title: principal.name, principal, people, invites, cursor, values: {}, ...extra }, status);
  }
}
