import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query, Req } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AuthPrincipal, CurrentPrincipal, isStaff, Public, Roles } from '../../common/auth';
import { ParseIdPipe } from '../../common/http/parse-id.pipe';
import { PrincipalsError } from './principals.errors';
import { PrincipalsService } from './principals.service';
import {
  ApiKeyDto,
  CreateApiKeyDto,
  CreatedApiKeyDto,
  CreatedPrincipalDto,
  CreatePrincipalDto,
  ListPrincipalsQueryDto,
  PostbackTokenDto,
  PrincipalDto,
  SignupAffiliateDto,
  UpdateAffiliateDto,
} from './dto/principals.dto';
import { Role } from './principal.entity';
import { RateLimiter } from '../throttling/rate-limiter.service';

@ApiTags('accounts')
@ApiBearerAuth()
@Controller('v1')
export class PrincipalsController {
  constructor(
    private readonly principals: PrincipalsService,
    private readonly limits: RateLimiter,
  ) {}

  @Get('me')
  @ApiOperation({ summary: 'The principal this API key belongs to' })
  @ApiOkResponse({ type: PrincipalDto })
  async me(@CurrentPrincipal() actor: AuthPrincipal): Promise<PrincipalDto> {
    return PrincipalDto.from(await this.principals.getPrincipal(actor.id));
  }

  @Post('advertisers')
  @Roles('admin')
  @ApiOperation({ summary: 'Create an advertiser; answers its first API key and postback token, once' })
  @ApiCreatedResponse({ type: CreatedPrincipalDto })
  createAdvertiser(@Body() dto: CreatePrincipalDto) {
    return this.create('advertiser', dto);
  }

  @Post('affiliates')
  @Roles('admin')
  @ApiOperation({ summary: 'Create an active affiliate; answers its first API key, once' })
  @ApiCreatedResponse({ type: CreatedPrincipalDto })
  createAffiliate(@Body() dto: CreatePrincipalDto) {
    return this.create('affiliate', dto);
  }

  @Post('finance-users')
  @Roles('admin')
  @ApiOperation({ summary: 'Create a finance user; answers its first API key, once' })
  @ApiCreatedResponse({ type: CreatedPrincipalDto })
  createFinanceUser(@Body() dto: CreatePrincipalDto) {
    return this.create('finance', dto);
  }

  @Post('affiliates/signup')
  @Public()
  @ApiOperation({ summary: 'Affiliate self sign-up: pending until an admin approves; the key works from then on' })
  @ApiCreatedResponse({ type: CreatedPrincipalDto })
  async signup(@Req() request: FastifyRequest, @Body() dto: SignupAffiliateDto): Promise<CreatedPrincipalDto> {
    await this.limits.consume('signups', request.ip);
    const { principal, apiKey } = await this.principals.createPrincipal('affiliate', dto, 'pending', dto.about ? { about: dto.about } : {});
    return { id: principal.id, status: principal.status, apiKey };
  }

  @Get('advertisers')
  @Roles('admin', 'finance')
  @ApiOkResponse({ type: PrincipalDto, isArray: true })
  listAdvertisers(@Query() query: ListPrincipalsQueryDto) {
    return this.list('advertiser', query);
  }

  @Get('affiliates')
  @Roles('admin', 'finance')
  @ApiOkResponse({ type: PrincipalDto, isArray: true })
  listAffiliates(@Query() query: ListPrincipalsQueryDto) {
    return this.list('affiliate', query);
  }

  @Get('finance-users')
  @Roles('admin')
  @ApiOkResponse({ type: PrincipalDto, isArray: true })
  listFinanceUsers(@Query() query: ListPrincipalsQueryDto) {
    return this.list('finance', query);
  }

  @Get('advertisers/:id')
  @Roles('admin', 'finance', 'advertiser')
  @ApiOkResponse({ type: PrincipalDto })
  getAdvertiser(@CurrentPrincipal() actor: AuthPrincipal, @Param('id', ParseIdPipe) id: string) {
    return this.getScoped(actor, 'advertiser', id);
  }

  @Get('affiliates/:id')
  @Roles('admin', 'finance', 'affiliate')
  @ApiOkResponse({ type: PrincipalDto })
  getAffiliate(@CurrentPrincipal() actor: AuthPrincipal, @Param('id', ParseIdPipe) id: string) {
    return this.getScoped(actor, 'affiliate', id);
  }

  @Patch('affiliates/:id')
  @Roles('admin')
  @ApiOperation({ summary: 'Approve, suspend or reactivate an affiliate; set its payout threshold' })
  @ApiOkResponse({ type: PrincipalDto })
  async updateAffiliate(@Param('id', ParseIdPipe) id: string, @Body() dto: UpdateAffiliateDto): Promise<PrincipalDto> {
    return PrincipalDto.from(await this.principals.updateAffiliate(id, dto));
  }

  @Post('api-keys')
  @ApiOperation({ summary: 'Create another API key for yourself (admins: for any principal); shown once' })
  @ApiCreatedResponse({ type: CreatedApiKeyDto })
  async createApiKey(@CurrentPrincipal() actor: AuthPrincipal, @Body() dto: CreateApiKeyDto): Promise<CreatedApiKeyDto> {
    const { key, row } = await this.principals.createApiKey(actor, dto.principalId, dto.label ?? null);
    return { ...ApiKeyDto.from(row), apiKey: key };
  }

  @Get('api-keys')
  @ApiOperation({ summary: 'Your API keys (never the keys themselves)' })
  @ApiOkResponse({ type: ApiKeyDto, isArray: true })
  async listApiKeys(@CurrentPrincipal() actor: AuthPrincipal, @Query() query: CreateApiKeyDto): Promise<{ data: ApiKeyDto[] }> {
    return { data: (await this.principals.listApiKeys(actor, query.principalId)).map(ApiKeyDto.from) };
  }

  @Delete('api-keys/:id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Revoke an API key at once' })
  async revokeApiKey(@CurrentPrincipal() actor: AuthPrincipal, @Param('id', ParseIdPipe) id: string): Promise<void> {
    await this.principals.revokeApiKey(actor, id);
  }

  @Post('postback-tokens')
  @Roles('advertiser')
  @ApiOperation({ summary: 'Rotate the postback token; the previous one keeps working for 24 h' })
  @ApiCreatedResponse({ type: PostbackTokenDto })
  rotatePostbackToken(@CurrentPrincipal() actor: AuthPrincipal): Promise<PostbackTokenDto> {
    return this.principals.rotatePostbackToken(actor.id);
  }

  private async create(role: Role, dto: CreatePrincipalDto): Promise<CreatedPrincipalDto> {
    const { principal, apiKey, postbackToken } = await this.principals.createPrincipal(role, dto);
    return { id: principal.id, status: principal.status, apiKey, ...(postbackToken ? { postbackToken } : {}) };
  }

  private async list(role: Role, query: ListPrincipalsQueryDto): Promise<{ data: PrincipalDto[] }> {
    return { data: (await this.principals.listPrincipals(role, query.status)).map(PrincipalDto.from) };
  }

  private async getScoped(actor: AuthPrincipal, role: Role, id: string): Promise<PrincipalDto> {
    if (!isStaff(actor) && actor.id !== id) throw PrincipalsError.principalNotFound();
    return PrincipalDto.from(await this.principals.getPrincipal(id, role));
  }
}
