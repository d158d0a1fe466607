import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AuthPrincipal, CurrentPrincipal, Roles } from '../../common/auth';
import { AppError } from '../../common/errors';
import { ParseIdPipe } from '../../common/http/parse-id.pipe';
import { ConversionsService } from '../conversions/conversions.service';
import { AppealsService } from './appeals.service';
import { ConversionAppeal } from './appeal.entity';
import { AppealView, CreateAppealDto, DecideHeldDto, DecisionResultView, QualityReportQueryDto, QualityReportView, ResolveAppealDto } from './dto/quality.dto';
import { QualityReportService } from './quality-report';

const toAppealView = (a: ConversionAppeal): AppealView => ({
  id: a.id,
  conversionId: a.conversionId,
  status: a.status,
  message: a.message,
  resolution: a.resolution,
  resolvedAt: a.resolvedAt?.toISOString() ?? null,
  createdAt: a.createdAt.toISOString(),
});

@ApiTags('quality')
@ApiBearerAuth()
@Controller('v1/conversions')
export class AppealsController {
  constructor(private readonly appeals: AppealsService) {}

  @Post(':id/appeals')
  @Roles('affiliate')
  @ApiOperation({ summary: 'Appeal a held or rejected conversion of your own, with a message (one open appeal at a time)' })
  @ApiCreatedResponse({ type: AppealView })
  async open(@CurrentPrincipal() actor: AuthPrincipal, @Param('id', ParseIdPipe) id: string, @Body() dto: CreateAppealDto): Promise<AppealView> {
    return toAppealView(await this.appeals.open(actor, id, dto.message));
  }

  @Get(':id/appeals')
  @ApiOperation({ summary: "A conversion's appeals, oldest first (scoped like the conversion)" })
  @ApiOkResponse({ type: AppealView, isArray: true })
  async list(@CurrentPrincipal() actor: AuthPrincipal, @Param('id', ParseIdPipe) id: string): Promise<{ data: AppealView[] }> {
    return { data: (await this.appeals.list(actor, id)).map(toAppealView) };
  }

  @Post(':id/appeals/:appealId/resolve')
  @Roles('advertiser', 'admin')
  @HttpCode(200)
  @ApiOperation({ summary: 'Decide an open appeal: approve (the conversion is approved and its commission posted) or reject' })
  @ApiOkResponse({ type: AppealView })
  async resolve(
    @CurrentPrincipal() actor: AuthPrincipal,
    @Param('id', ParseIdPipe) id: string,
    @Param('appealId', ParseIdPipe) appealId: string,
    @Body() dto: ResolveAppealDto,
  ): Promise<AppealView> {
    const { appeal } = await this.appeals.resolve(actor, id, appealId, dto.decision, dto.message);
    return toAppealView(appeal);
  }
}

@ApiTags('quality')
@ApiBearerAuth()
@Controller('v1')
export class QualityController {
  constructor(
    private readonly conversions: ConversionsService,
    private readonly reports: QualityReportService,
  ) {}

  @Post('quality/decisions')
  @Roles('advertiser', 'admin')
  @HttpCode(200)
  @ApiOperation({ summary: 'Decide many held conversions at once (the review queue): approve or reject each; one result per id' })
  @ApiOkResponse({ type: DecisionResultView, isArray: true })
  async decide(@CurrentPrincipal() actor: AuthPrincipal, @Body() dto: DecideHeldDto): Promise<{ data: DecisionResultView[] }> {
    const data: DecisionResultView[] = [];
    for (const id of [...new Set(dto.ids)]) {
      try {
        const to = dto.decision === 'approve' ? 'approved' : 'rejected';
        const changed = await this.conversions.transition(id, to, { type: 'principal', id: actor.id }, dto.message ?? (to === 'rejected' ? 'risk' : 'reviewed'), actor);
        data.push({ id, status: changed.status });
      } catch (error) {
        if (!(error instanceof AppError)) throw error;
        data.push({ id, error: error.code });
      }
    }
    return { data };
  }

  @Get('reports/quality')
  @Roles('admin', 'finance', 'advertiser', 'affiliate')
  @ApiOperation({ summary: 'Traffic quality per group (affiliate, offer, sub1, channel, country): clicks, conversions, held, rejected for risk, and the count of each reason' })
  @ApiOkResponse({ type: QualityReportView })
  async report(@CurrentPrincipal() viewer: AuthPrincipal, @Query() query: QualityReportQueryDto): Promise<QualityReportView> {
    return { data: await this.reports.report(viewer, query) };
  }
}
