import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AuthPrincipal, CurrentPrincipal, Roles } from '../../common/auth';
import { ParseIdPipe } from '../../common/http/parse-id.pipe';
import { mapPage, Page } from '../../common/pagination';
import { CreateLinkDto, LinkView, ListLinksQueryDto } from './dto/links.dto';
import { LinksService } from './links.service';
import { toLinkView } from './tracking.views';

@ApiTags('tracking')
@ApiBearerAuth()
@Controller('v1/links')
export class LinksController {
  constructor(private readonly links: LinksService) {}

  @Post()
  @Roles('affiliate')
  @ApiOperation({ summary: 'Create a tracking link to an offer the affiliate may promote (public, or approved)' })
  @ApiCreatedResponse({ type: LinkView })
  async create(@CurrentPrincipal() actor: AuthPrincipal, @Body() dto: CreateLinkDto): Promise<LinkView> {
    return this.view(await this.links.create(actor, dto));
  }

  @Get()
  @Roles('affiliate', 'advertiser', 'admin')
  @ApiOperation({ summary: 'Tracking links: affiliates their own, advertisers those to their offers, admins all' })
  @ApiOkResponse({ type: LinkView, isArray: true })
  async list(@CurrentPrincipal() actor: AuthPrincipal, @Query() query: ListLinksQueryDto): Promise<Page<LinkView>> {
    return mapPage(await this.links.list(actor, query), (link) => this.view(link));
  }

  @Get(':id')
  @Roles('affiliate', 'advertiser', 'admin')
  @ApiOkResponse({ type: LinkView })
  async get(@CurrentPrincipal() actor: AuthPrincipal, @Param('id', ParseIdPipe) id: string): Promise<LinkView> {
    return this.view(await this.links.get(actor, id));
  }

  @Post(':id/archive')
  @Roles('affiliate', 'admin')
  @HttpCode(200)
  @ApiOperation({ summary: "Archive a link: its clicks are still recorded and go to the offer's fallback URL (or get a 410)" })
  @ApiOkResponse({ type: LinkView })
  async archive(@CurrentPrincipal() actor: AuthPrincipal, @Param('id', ParseIdPipe) id: string): Promise<LinkView> {
    return this.view(await this.links.archive(actor, id));
  }

  private view(link: Parameters<typeof toLinkView>[0]): LinkView {
    return toLinkView(link, this.links.url(link.code));
  }
}
