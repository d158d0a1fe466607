import { All, Body, Get, HttpStatus, Param, Post, Query, Req, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { AppError, RateLimitedError } from '../../../common/errors';
import { RateLimiter } from '../../throttling/rate-limiter.service';
import { checkFields, humanMessage, str, tryForm } from '../web/forms';
import { PasswordResetsService } from './password-resets.service';
import { passwordProblem } from './passwords';
import { PortalCookies } from '../web/portal-cookies';
import { AllowPending, Anonymous, Me, PortalContext, PortalRequest, safeReturn } from '../web/portal-request';
import { PortalController } from '../web/portal-controller';
import { HOME, PortalViews } from '../web/portal-views';
import { TIME_ZONES } from '../web/format';
import { SessionsService } from './sessions.service';
import { TwoFactorService } from './two-factor.service';
import { SignInRefused, UsersService } from './users.service';

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

type Form = Record<string, unknown>;

/** Signing in and out, affiliate sign-up, invitations, and the pages around them. */
@PortalController('portal')
export class SignInController {
  constructor(
    private readonly users: UsersService,
    private readonly sessions: SessionsService,
    private readonly views: PortalViews,
    private readonly cookies: PortalCookies,
    private readonly limits: RateLimiter,
    private readonly resets: PasswordResetsService,
    private readonly twoFactor: TwoFactorService,
  ) {}

  @Get()
  @Anonymous()
  home(@Req() request: PortalRequest, @Res() reply: FastifyReply, @Query('notice') notice?: string) {
    // A notice for the home page (welcome after an invitation) goes along to the role's home.
    const keep = typeof notice === 'string' && /^\w{1,40}$/.test(notice) ? `?notice=${notice}` : '';
    return reply.redirect(request.portal ? HOME[request.portal.role] + keep : '/portal/login', 303);
  }

  @Get('login')
  @Anonymous()
  loginPage(@Req() request: PortalRequest, @Res() reply: FastifyReply, @Query('next') next?: string) {
    if (request.portal) return reply.redirect(safeReturn(next, HOME[request.portal.role]), 303);
    return this.anonymousPage(request, reply, 'login', { title: 'Sign in', next: safeReturn(next, '') });
  }

  @Post('login')
  @Anonymous()
  async login(@Req() request: PortalRequest, @Res() reply: FastifyReply, @Body() body: Form) {
    const email = str(body, 'email');
    try {
      await this.limits.consume('forms', `portal-login:${request.ip}`);
      const user = await this.users.signIn(email, typeof body.password === 'string' ? body.password : '', request.ip);
      if (user.totpEnabledAt) {
        const pending = await this.twoFactor.startLogin({ userId: user.id, email, next: safeReturn(body.next, '/portal') });
        return this.anonymousPage(request, reply, 'login-code', { title: 'Enter your code', pending });
      }
      await this.signInAs(request, reply, user.id);
      return reply.redirect(safeReturn(body.next, '/portal'), 303);
    } catch (error) {
      if (!(error instanceof SignInRefused || error instanceof RateLimitedError)) throw error;
      return this.anonymousPage(
        request,
        reply,
        'login',
        { title: 'Sign in', next: safeReturn(body.next, ''), values: { email }, problem: { fields: {}, message: error.message } },
        error.status,
      );
    }
  }

  /** The second step of a two-factor sign-in: a current code, bound to the pending-login token of the first. */
  @Post('login/code')
  @Anonymous()
  async loginCode(@Req() request: PortalRequest, @Res() reply: FastifyReply, @Body() body: Form) {
    await this.limits.consume('forms', `portal-login:${request.ip}`);
    const pending = str(body, 'pending');
    const login = await this.twoFactor.pendingLogin(pending);
    if (!login) {
      const problem = { fields: {}, message: 'Your sign-in expired. Enter your email and password again.' };
      return this.anonymousPage(request, reply, 'login', { title: 'Sign in', next: '', values: {}, problem }, HttpStatus.UNAUTHORIZED);
    }
    const outcome = await this.twoFactor.finishLogin(pending, login, str(body, 'code').replace(/\s/g, ''), request.ip);
    if (outcome === 'ok') {
      await this.signInAs(request, reply, login.userId);
      return reply.redirect(login.next, 303);
    }
    const refused = outcome === 'wrong' ? null : SignInRefused.throttled(outcome);
    const problem = refused
      ? { fields: {}, message: refused.message }
      : { fields: { code: 'That is not the current code of your authenticator app.' }, message: 'Please correct the marked fields.' };
    return this.anonymousPage(request, reply, 'login-code', { title: 'Enter your code', pending, problem }, refused ? refused.status : HttpStatus.UNAUTHORIZED);
  }

  @Post('logout')
  @AllowPending()
  async logout(@Me() me: PortalContext, @Res() reply: FastifyReply) {
    await this.sessions.end(me.sessionId);
    this.cookies.endSession(reply);
    return reply.redirect('/portal/login', 303);
  }

  @Post('logout-everywhere')
  @AllowPending()
  async logoutEverywhere(@Me() me: PortalContext, @Res() reply: FastifyReply) {
    await this.sessions.endAll(me.userId);
    this.cookies.endSession(reply);
    return reply.redirect('/portal/login', 303);
  }

  @Get('signup')
  @Anonymous()
  signupPage(@Req() request: PortalRequest, @Res() reply: FastifyReply) {
    return this.anonymousPage(request, reply, 'signup', { title: 'Become a partner', timeZones: TIME_ZONES, values: { timeZone: 'UTC' } });
  }

  @Post('signup')
  @Anonymous()
  async signup(@Req() request: PortalRequest, @Res() reply: FastifyReply, @Body() body: Form) {
    // Each sign-up creates a principal and hashes a password: counted per address before any of it.
    await this.limits.consume('signups', request.ip);
    const input = {
      company: str(body, 'company'),
      name: str(body, 'name'),
      email: str(body, 'email'),
      about: str(body, 'about') || undefined,
      timeZone: str(body, 'timeZone') || 'UTC',
    };
    const problem = await tryForm(async () => {
      // Every field's problem at once, not one per attempt.
      checkFields({
        company: !input.company && 'is required',
        name: !input.name && 'is required',
        email: !EMAIL.test(input.email) && 'must be an email address',
        password: passwordProblem(typeof body.password === 'string' ? body.password : '', input.email),
      });
      const user = await this.users.signUpAffiliate({ ...input, password: typeof body.password === 'string' ? body.password : '' });
      await this.signInAs(request, reply, user.id);
    });
    if (!problem) return reply.redirect('/portal/pending', 303);
    return this.anonymousPage(request, reply, 'signup', { title: 'Become a partner', timeZones: TIME_ZONES, values: input, problem }, 422);
  }

  @Get('invite/:token')
  @Anonymous()
  async invitePage(@Req() request: PortalRequest, @Res() reply: FastifyReply, @Param('token') token: string) {
    const invite = await this.users.openInvite(token);
    if (!invite) return this.invalidInvite(request, reply, token);
    return this.anonymousPage(request, reply, 'invite', { title: 'Join Afflux', invite, token, timeZones: TIME_ZONES, values: { timeZone: 'UTC' } });
  }

  @Post('invite/:token')
  @Anonymous()
  async acceptInvite(@Req() request: PortalRequest, @Res() reply: FastifyReply, @Param('token') token: string, @Body() body: Form) {
    await this.limits.consume('forms', `portal-invite:${request.ip}`);
    const input = { name: str(body, 'name'), timeZone: str(body, 'timeZone') || 'UTC' };
    let accepted = false;
    const problem = await tryForm(async () => {
      const user = await this.users.acceptInvite(token, { ...input, password: typeof body.password === 'string' ? body.password : '' });
      if (!user) return;
      accepted = true;
      await this.signInAs(request, reply, user.id);
    });
    if (!problem && accepted) return reply.redirect('/portal?notice=welcome', 303);
    const invite = await this.users.openInvite(token);
    if (!invite) return this.invalidInvite(request, reply, token);
    return this.anonymousPage(request, reply, 'invite', { title: 'Join Afflux', invite, token, timeZones: TIME_ZONES, values: input, problem }, 422);
  }

  @Get('forgot')
  @Anonymous()
  forgotPage(@Req() request: PortalRequest, @Res() reply: FastifyReply) {
    return this.anonymousPage(request, reply, 'forgot', { title: 'Forgot your password?', values: {} });
  }

  /** Mails a reset link when the address has an account; the answer is the same either way. */
  @Post('forgot')
  @Anonymous()
  async forgot(@Req() request: PortalRequest, @Res() reply: FastifyReply, @Body() body: Form) {
    await this.limits.consume('forms', `portal-forgot:${request.ip}`);
    const email = str(body, 'email');
    if (!EMAIL.test(email)) {
      const problem = { fields: { email: 'An email address, such as name@example.com.' }, message: 'Please correct the marked fields.' };
      return this.anonymousPage(request, reply, 'forgot', { title: 'Forgot your password?', values: { email }, problem }, 422);
    }
    await this.resets.request(email);
    return this.anonymousPage(request, reply, 'forgot', { title: 'Check your mail', values: {}, sent: email });
  }

  @Get('reset/:token')
  @Anonymous()
  async resetPage(@Req() request: PortalRequest, @Res() reply: FastifyReply, @Param('token') token: string) {
    if (!(await this.resets.open(token))) return this.invalidReset(request, reply);
    return this.anonymousPage(request, reply, 'reset', { title: 'Choose a new password', token, values: {} });
  }

  @Post('reset/:token')
  @Anonymous()
  async reset(@Req() request: PortalRequest, @Res() reply: FastifyReply, @Param('token') token: string, @Body() body: Form) {
    await this.limits.consume('forms', `portal-reset:${request.ip}`);
    const { problem, done } = await this.resets.complete(token, typeof body.password === 'string' ? body.password : '');
    if (done) return reply.redirect('/portal/login?notice=password_reset', 303);
    if (!problem) return this.invalidReset(request, reply);
    const formProblem = { fields: { password: humanMessage('password', problem) }, message: 'Please correct the marked fields.' };
    return this.anonymousPage(request, reply, 'reset', { title: 'Choose a new password', token, values: {}, problem: formProblem }, 422);
  }

  @Get('pending')
  @AllowPending()
  pending(@Req() request: PortalRequest, @Res() reply: FastifyReply, @Me() me: PortalContext) {
    if (me.principalStatus !== 'pending') return reply.redirect(HOME[me.role], 303);
    return this.views.page(request, reply, me, 'pending', { title: 'Application received' });
  }

  /** Where Stripe sends affiliates back after onboarding (PayoutDestinationsService's return and refresh URLs). */
  @Get('payouts')
  payoutsReturn(@Res() reply: FastifyReply, @Query('onboarding') onboarding?: string) {
    return reply.redirect(`/portal/affiliate/payouts${onboarding === 'done' ? '?notice=onboarding_done' : onboarding === 'refresh' ? '?notice=onboarding_refresh' : ''}`, 303);
  }

  @All('*')
  @Anonymous()
  notFound(): never {
    throw new AppError('not_found', HttpStatus.NOT_FOUND, 'Not found');
  }

  private async signInAs(request: PortalRequest, reply: FastifyReply, userId: string): Promise<void> {
    const { token, maxAgeSeconds } = await this.sessions.create(userId, request.ip, request.headers['user-agent'] ?? null);
    this.cookies.startSession(reply, token, maxAgeSeconds);
  }

  private invalidReset(request: PortalRequest, reply: FastifyReply) {
    return this.anonymousPage(
      request,
      reply,
      'error',
      { title: 'Link not valid', message: 'This password link was already used or has expired. Ask for a new one from the sign-in page.' },
      404,
    );
  }

  /** 410 for a link an admin took back (it existed, and will not work again), 404 for anything else. */
  private async invalidInvite(request: PortalRequest, reply: FastifyReply, token: string) {
    if (await this.users.inviteRevoked(token)) {
      return this.anonymousPage(
        request,
        reply,
        'error',
        { title: 'Invitation revoked', message: 'This invitation was revoked by the network. Ask your admin for a new one if you still need access.' },
        410,
      );
    }
    return this.anonymousPage(
      request,
      reply,
      'error',
      { title: 'Invitation not valid', message: 'This invitation link was already used or has expired. Ask your admin for a new one.' },
      404,
    );
  }

  private anonymousPage(request: PortalRequest, reply: FastifyReply, view: string, data: Record<string, unknown>, status = 200) {
    const csrf = this.cookies.preSessionToken(request, reply);
    return this.views.page(request, reply, undefined, view, { ...data, csrf }, status);
  }
}
