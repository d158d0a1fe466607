import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AuthPrincipal, CurrentPrincipal, Roles } from '../../common/auth';
import { mapPage, Page } from '../../common/pagination';
import { ClicksService } from './clicks.service';
import { ClickView, ListClicksQueryDto } from './dto/clicks.dto';
import { toClickView } from './tracking.views';

@ApiTags('tracking')
@ApiBearerAuth()
@Controller('v1/clicks')
export class ClicksController {
  constructor(private readonly clicks: ClicksService) {}

  @Get()
  @Roles('affiliate', 'advertiser', 'admin')
  @ApiOperation({ summary: 'Clicks, newest first: affiliates their own, advertisers those on their offers, admins all (full IPs for admins only)' })
  @ApiOkResponse({ type: ClickView, isArray: true })
  async list(@CurrentPrincipal() actor: AuthPrincipal, @Query() query: ListClicksQueryDto): Promise<Page<ClickView>> {
    return mapPage(await this.clicks.list(actor, query), toClickView);
  }
}
