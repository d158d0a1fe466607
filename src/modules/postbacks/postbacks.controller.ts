import { Body, Controller, Delete, Get, HttpCode, Post, Put, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AuthPrincipal, CurrentPrincipal, Roles } from '../../common/auth';
import { mapPage, Page } from '../../common/pagination';
import { ListAttemptsQueryDto, PostbackAttemptView, PostbackScopeDto, PostbackSettingView, PutPostbackSettingDto } from './dto/postbacks.dto';
import { PostbackAttempt } from './postback-attempt.entity';
import { PostbackSetting } from './postback-setting.entity';
import { PostbacksService } from './postbacks.service';

const settingView = (s: PostbackSetting): PostbackSettingView => ({ id: s.id, offerId: s.offerId, urlTemplate: s.urlTemplate, updatedAt: s.updatedAt.toISOString() });
const attemptView = (a: PostbackAttempt): PostbackAttemptView => ({
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

@ApiTags('postbacks')
@ApiBearerAuth()
@Controller('v1')
export class PostbacksController {
  constructor(private readonly postbacks: PostbacksService) {}

  @Put('postback-settings')
  @Roles('affiliate')
  @ApiOperation({ summary: 'Set your outgoing postback URL (general, or for one offer)' })
  @ApiOkResponse({ type: PostbackSettingView })
  async put(@CurrentPrincipal() actor: AuthPrincipal, @Body() dto: PutPostbackSettingDto): Promise<PostbackSettingView> {
    return settingView(await this.postbacks.put(actor, dto));
  }

  @Get('postback-settings')
  @Roles('affiliate')
  @ApiOkResponse({ type: PostbackSettingView, isArray: true })
  async list(@CurrentPrincipal() actor: AuthPrincipal): Promise<{ data: PostbackSettingView[] }> {
    return { data: (await this.postbacks.list(actor.id)).map(settingView) };
  }

  @Delete('postback-settings')
  @Roles('affiliate')
  @HttpCode(204)
  async remove(@CurrentPrincipal() actor: AuthPrincipal, @Query() query: PostbackScopeDto): Promise<void> {
    await this.postbacks.remove(actor.id, query.offerId);
  }

  @Post('postback-settings/test')
  @Roles('affiliate')
  @HttpCode(200)
  @ApiOperation({ summary: 'Fire a sample postback now; answers the attempt (URL called, status, latency, error)' })
  @ApiOkResponse({ type: PostbackAttemptView })
  async test(@CurrentPrincipal() actor: AuthPrincipal, @Body() dto: PostbackScopeDto): Promise<PostbackAttemptView> {
    return attemptView(await this.postbacks.test(actor, dto.offerId));
  }

  @Get('postback-attempts')
  @Roles('affiliate', 'admin')
  @ApiOperation({ summary: 'Every call of your postback URL, newest first' })
  @ApiOkResponse({ type: PostbackAttemptView, isArray: true })
  async attempts(@CurrentPrincipal() actor: AuthPrincipal, @Query() query: ListAttemptsQueryDto): Promise<Page<PostbackAttemptView>> {
    return mapPage(await this.postbacks.attempts(actor, query), attemptView);
  }
}
