import { Body, Controller, Get, HttpCode, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AuthPrincipal, CurrentPrincipal, Roles } from '../../common/auth';
import { RebuildView, ReportPeriodDto, StatsQueryDto, StatsView } from './dto/reports.dto';
import { ReportsService } from './reports.service';
import { RollupsService } from './rollups';

@ApiTags('reports')
@ApiBearerAuth()
@Controller('v1/reports')
export class ReportsController {
  constructor(
    private readonly reports: ReportsService,
    private readonly rollups: RollupsService,
  ) {}

  @Get('stats')
  @Roles('admin', 'finance', 'advertiser', 'affiliate')
  @ApiOperation({
    summary: 'Performance stats per group and currency: clicks, conversions by status, money, rates, EPC, CPA, CPL, ROI',
    description:
      'Scoped by role: affiliates see their own traffic without revenue, margin or ROI; advertisers their offers, without margin; admin and finance everything. ' +
      'Days and hours are local to `timezone`, DST included. Rollups are hourly: in zones offset by a fraction of an hour (Asia/Kolkata, Asia/Kathmandu) ' +
      'a day runs from the first whole UTC hour after local midnight (00:30, 00:45), and hours start at :30 or :45.',
  })
  @ApiOkResponse({ type: StatsView })
  stats(@CurrentPrincipal() viewer: AuthPrincipal, @Query() query: StatsQueryDto): Promise<StatsView> {
    return this.reports.stats(viewer, query);
  }

  @Post('rebuild')
  @HttpCode(200)
  @Roles('admin')
  @ApiOperation({
    summary: 'Recompute the report rollups of a range of days from the raw clicks and conversions',
    description: 'For data written around the application (bulk imports, restored partitions). Rollup writers wait while each day is rebuilt.',
  })
  @ApiOkResponse({ type: RebuildView })
  async rebuild(@Body() body: ReportPeriodDto): Promise<RebuildView> {
    const period = await this.reports.period(body);
    const { from, to } = await this.rollups.rebuild(period.from, period.to);
    return { from: from.toISOString(), to: to.toISOString() };
  }
}
