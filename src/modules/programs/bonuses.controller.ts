import { Body, Controller, Get, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AuthPrincipal, CurrentPrincipal, Roles } from '../../common/auth';
import { ParseIdPipe } from '../../common/http/parse-id.pipe';
import { mapPage, Page } from '../../common/pagination';
import { BonusesService } from './bonuses.service';
import { AwardView, BonusView, CreateBonusDto, ListAwardsQueryDto } from './dto/bonus.dto';

@ApiTags('bonuses')
@ApiBearerAuth()
@Controller('v1')
export class BonusesController {
  constructor(private readonly bonuses: BonusesService) {}

  @Post('offers/:id/bonuses')
  @Roles('advertiser', 'admin')
  @ApiOperation({ summary: 'Add a bonus program to an offer: an amount once per affiliate and period on reaching a threshold of approved conversions or sale amount' })
  @ApiCreatedResponse({ type: BonusView })
  async create(@CurrentPrincipal() actor: AuthPrincipal, @Param('id', ParseIdPipe) id: string, @Body() dto: CreateBonusDto): Promise<BonusView> {
    return BonusView.from(await this.bonuses.create(actor, id, dto));
  }

  @Get('offers/:id/bonuses')
  @ApiOperation({ summary: 'The bonus programs of an offer the caller can see' })
  @ApiOkResponse({ type: BonusView, isArray: true })
  async list(@CurrentPrincipal() actor: AuthPrincipal, @Param('id', ParseIdPipe) id: string): Promise<{ data: BonusView[] }> {
    return { data: (await this.bonuses.list(actor, id)).map(BonusView.from) };
  }

  @Get('bonuses')
  @ApiOperation({ summary: 'Earned bonuses: affiliates their own, advertisers those of their offers, staff all' })
  @ApiOkResponse({ type: AwardView, isArray: true })
  async awards(@CurrentPrincipal() actor: AuthPrincipal, @Query() query: ListAwardsQueryDto): Promise<Page<AwardView>> {
    return mapPage(await this.bonuses.awards(actor, query), AwardView.from);
  }
}
