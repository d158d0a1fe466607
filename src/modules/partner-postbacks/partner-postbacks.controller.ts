import { Body, Controller, Delete, Get, HttpCode, Post, Put, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AuthPrincipal, CurrentPrincipal, Roles } from '../../common/auth';
import { mapPage, Page } from '../../common/pagination';
import { ListAttemptsQueryDto, PartnerPostbackAttemptView, PartnerPostbackScopeDto, PartnerPostbackSettingView, PutPartnerPostbackSettingDto } from './dto/partner-postbacks.dto';
import { PartnerPostbackAttempt } from './partner-postback-attempt.entity';
import { PartnerPostbackSetting } from './partner-postback-setting.entity';
import { PartnerPostbacksService } from './partner-postbacks.service';

const settingView = (s: PartnerPostbackSetting): PartnerPostbackSettingView => ({ id: s.id, offerId: s.offerId, urlTemplate: s.urlTemplate, updatedAt: s.updatedAt.toISOString() });
const attemptView = (a: PartnerPostbackAttempt): PartnerPostbackAttemptView => ({
  id: a.id,
  conversionId: a.conversionId,
  isTest: a.isTest,
  attempt: a.attempt,
  url: a.url,
  statusCode: a.statusCode,
  latencyMs: a.latencyMs,
  error: a.error,
  // The answer's body is not handed back: it would make the log a way to read what a URL returns (older rows still hold one).
  responseExcerpt: null,
  outcome: a.outcome,
  createdAt: a.createdAt.toISOString(),
});

/** The OpenAPI operation ids this controller had before it was named for partner postbacks: generated clients name their methods by them. */
const operationId = (method: string) => `PostbacksController_${method}`;

@ApiTags('postbacks')
@ApiBearerAuth()
@Controller('v1')
export class PartnerPostbacksController {
  constructor(private readonly partnerPostbacks: PartnerPostbacksService) {}

  @Put('postback-settings')
  @Roles('affiliate')
  @ApiOperation({ summary: 'Set your outgoing postback URL (general, or for one offer)', operationId: operationId('put') })
  @ApiOkResponse({ type: PartnerPostbackSettingView })
  async put(@CurrentPrincipal() actor: AuthPrincipal, @Body() dto: PutPartnerPostbackSettingDto): Promise<PartnerPostbackSettingView> {
    return settingView(await this.partnerPostbacks.put(actor, dto));
  }

  @Get('postback-settings')
  @Roles('affiliate')
  @ApiOperation({ summary: 'Your outgoing postback URLs (the general one and those for one offer)', operationId: operationId('list') })
  @ApiOkResponse({ type: PartnerPostbackSettingView, isArray: true })
  async list(@CurrentPrincipal() actor: AuthPrincipal): Promise<{ data: PartnerPostbackSettingView[] }> {
    return { data: (await this.partnerPostbacks.list(actor.id)).map(settingView) };
  }

  @Delete('postback-settings')
  @Roles('affiliate')
  @HttpCode(204)
  @ApiOperation({ summary: 'Remove your outgoing postback URL (general, or for one offer)', operationId: operationId('remove') })
  async remove(@CurrentPrincipal() actor: AuthPrincipal, @Query() query: PartnerPostbackScopeDto): Promise<void> {
    await this.partnerPostbacks.remove(actor.id, query.offerId);
  }

  @Post('postback-settings/test')
  @Roles('affiliate')
  @HttpCode(200)
  @ApiOperation({ summary: 'Fire a sample postback now; answers the attempt (URL called, status, latency, error)', operationId: operationId('test') })
  @ApiOkResponse({ type: PartnerPostbackAttemptView })
  async test(@CurrentPrincipal() actor: AuthPrincipal, @Body() dto: PartnerPostbackScopeDto): Promise<PartnerPostbackAttemptView> {
    return attemptView(await this.partnerPostbacks.test(actor, dto.offerId));
  }

  @Get('postback-attempts')
  @Roles('affiliate', 'admin')
  @ApiOperation({ summary: 'Every call of your postback URL, newest first', operationId: operationId('attempts') })
  @ApiOkResponse({ type: PartnerPostbackAttemptView, isArray: true })
  async attempts(@CurrentPrincipal() actor: AuthPrincipal, @Query() query: ListAttemptsQueryDto): Promise<Page<PartnerPostbackAttemptView>> {
    return mapPage(await this.partnerPostbacks.attempts(actor, query), attemptView);
  }
}
