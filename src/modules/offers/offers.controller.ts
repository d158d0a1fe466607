import { Body, Controller, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import { AuthPrincipal, CurrentPrincipal, Roles } from '../../common/auth';
import { ParseIdPipe } from '../../common/http/parse-id.pipe';
import { mapPage, Page } from '../../common/pagination';
import { ApplicationDto, ApplyDto, CreateOfferDto, DecideApplicationDto, ListOffersQueryDto, OfferView, UpdateOfferDto } from './dto/offer.dto';
import { ACCESS_STATUSES, AccessStatus } from './offer-access.entity';
import { toApplicationView, toOfferView } from './offer.view';
import { OffersService } from './offers.service';

class ListApplicationsQueryDto {
  @IsOptional()
  @IsIn(ACCESS_STATUSES as unknown as string[])
  status?: AccessStatus;
}

@ApiTags('offers')
@ApiBearerAuth()
@Controller('v1/offers')
export class OffersController {
  constructor(private readonly offers: OffersService) {}

  @Post()
  @Roles('advertiser', 'admin')
  @ApiOperation({ summary: 'Create an offer with its goals, payout rules, caps and windows' })
  @ApiCreatedResponse({ type: OfferView })
  async create(@CurrentPrincipal() actor: AuthPrincipal, @Body() dto: CreateOfferDto): Promise<OfferView> {
    return toOfferView({ offer: await this.offers.create(actor, dto) }, actor);
  }

  @Get()
  @ApiOperation({ summary: 'Offers: advertisers their own, affiliates the ones they can see, staff all' })
  @ApiOkResponse({ type: OfferView, isArray: true })
  async list(@CurrentPrincipal() actor: AuthPrincipal, @Query() query: ListOffersQueryDto): Promise<Page<OfferView>> {
    return mapPage(await this.offers.list(actor, query), (o) => toOfferView(o, actor));
  }

  @Get(':id')
  @ApiOkResponse({ type: OfferView })
  async get(@CurrentPrincipal() actor: AuthPrincipal, @Param('id', ParseIdPipe) id: string): Promise<OfferView> {
    return toOfferView(await this.offers.getVisible(actor, id), actor);
  }

  @Patch(':id')
  @Roles('advertiser', 'admin')
  @ApiOperation({ summary: 'Change an offer; `goals`, when given, is the whole new goal set (goals left out are archived)' })
  @ApiOkResponse({ type: OfferView })
  async update(@CurrentPrincipal() actor: AuthPrincipal, @Param('id', ParseIdPipe) id: string, @Body() dto: UpdateOfferDto): Promise<OfferView> {
    return toOfferView({ offer: await this.offers.update(actor, id, dto) }, actor);
  }

  @Post(':id/applications')
  @Roles('affiliate')
  @ApiOperation({ summary: 'Apply to run an approval_required offer' })
  @ApiCreatedResponse({ type: ApplicationDto })
  async apply(@CurrentPrincipal() actor: AuthPrincipal, @Param('id', ParseIdPipe) id: string, @Body() dto: ApplyDto): Promise<ApplicationDto> {
    return toApplicationView(await this.offers.apply(actor, id, dto));
  }

  @Get(':id/applications')
  @Roles('advertiser', 'admin')
  @ApiOkResponse({ type: ApplicationDto, isArray: true })
  async applications(@CurrentPrincipal() actor: AuthPrincipal, @Param('id', ParseIdPipe) id: string, @Query() query: ListApplicationsQueryDto) {
    return { data: (await this.offers.listApplications(actor, id, query.status)).map(toApplicationView) };
  }

  @Post(':id/applications/:affiliateId/approve')
  @Roles('advertiser', 'admin')
  @HttpCode(200)
  @ApiOperation({ summary: 'Approve an application (admins may also grant access to private offers without one)' })
  @ApiOkResponse({ type: ApplicationDto })
  async approve(
    @CurrentPrincipal() actor: AuthPrincipal,
    @Param('id', ParseIdPipe) id: string,
    @Param('affiliateId', ParseIdPipe) affiliateId: string,
    @Body() dto: DecideApplicationDto,
  ): Promise<ApplicationDto> {
    return toApplicationView(await this.offers.decide(actor, id, affiliateId, 'approved', dto.note));
  }

  @Post(':id/applications/:affiliateId/reject')
  @Roles('advertiser', 'admin')
  @HttpCode(200)
  @ApiOkResponse({ type: ApplicationDto })
  async reject(
    @CurrentPrincipal() actor: AuthPrincipal,
    @Param('id', ParseIdPipe) id: string,
    @Param('affiliateId', ParseIdPipe) affiliateId: string,
    @Body() dto: DecideApplicationDto,
  ): Promise<ApplicationDto> {
    return toApplicationView(await this.offers.decide(actor, id, affiliateId, 'rejected', dto.note));
  }
}
