import { Body, Controller, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { AuthPrincipal, CurrentPrincipal, Roles } from '../../common/auth';
import { invalidField } from '../../common/errors';
import { ParseIdPipe } from '../../common/http/parse-id.pipe';
import { mapPage, Page } from '../../common/pagination';
import { ConversionStatus } from './conversion.entity';
import { parseConversionTime } from './conversion-time';
import { toConversionView } from './conversion.view';
import { ConversionsService } from './conversions.service';
import { ConversionView, CreateConversionDto, ListConversionsQueryDto, TransitionDto } from './dto/conversion.dto';

@ApiTags('conversions')
@ApiBearerAuth()
@Controller('v1/conversions')
export class ConversionsController {
  constructor(private readonly conversions: ConversionsService) {}

  @Post()
  @Roles('advertiser', 'admin')
  @ApiOperation({ summary: 'Record a conversion (201), or answer the existing one for a repeated goal + txnId (200)' })
  @ApiCreatedResponse({ type: ConversionView })
  async create(@CurrentPrincipal() actor: AuthPrincipal, @Body() dto: CreateConversionDto, @Res({ passthrough: true }) reply: FastifyReply): Promise<ConversionView> {
    let advertiserId = actor.id;
    if (actor.role === 'admin') {
      if (!dto.advertiserId) throw invalidField('advertiserId', 'is required when an admin records a conversion');
      advertiserId = dto.advertiserId;
    } else if (dto.advertiserId && dto.advertiserId !== actor.id) {
      throw invalidField('advertiserId', 'an advertiser records its own conversions only', 'field_not_allowed');
    }
    const { conversion, created } = await this.conversions.record(
      {
        advertiserId,
        source: 'api',
        goal: dto.goal,
        txnId: dto.txnId,
        clickId: dto.clickId,
        coupon: dto.coupon,
        amount: dto.saleAmount !== undefined ? { minor: dto.saleAmount } : null,
        currency: dto.currency,
        occurredAt: dto.occurredAt !== undefined ? parseConversionTime(dto.occurredAt) : null,
        customerId: dto.customerId,
      },
      { type: 'principal', id: actor.id },
    );
    reply.status(created ? 201 : 200);
    return toConversionView(conversion, actor);
  }

  @Get()
  @ApiOperation({ summary: 'Conversions, scoped: advertisers their own, affiliates theirs, staff all' })
  @ApiOkResponse({ type: ConversionView, isArray: true })
  async list(@CurrentPrincipal() actor: AuthPrincipal, @Query() query: ListConversionsQueryDto): Promise<Page<ConversionView>> {
    return mapPage(await this.conversions.list(actor, query), (c) => toConversionView(c, actor));
  }

  @Get(':id')
  @ApiOperation({ summary: 'One conversion with its history of status changes' })
  @ApiOkResponse({ type: ConversionView })
  async get(@CurrentPrincipal() actor: AuthPrincipal, @Param('id', ParseIdPipe) id: string): Promise<ConversionView> {
    const { conversion, events } = await this.conversions.get(id, actor);
    return toConversionView(conversion, actor, events);
  }

  @Post(':id/approve')
  @Roles('advertiser', 'admin', 'finance')
  @HttpCode(200)
  @ApiOkResponse({ type: ConversionView })
  approve(@CurrentPrincipal() actor: AuthPrincipal, @Param('id', ParseIdPipe) id: string, @Body() dto: TransitionDto) {
    return this.move(actor, id, 'approved', dto);
  }

  @Post(':id/reject')
  @Roles('advertiser', 'admin', 'finance')
  @HttpCode(200)
  @ApiOkResponse({ type: ConversionView })
  reject(@CurrentPrincipal() actor: AuthPrincipal, @Param('id', ParseIdPipe) id: string, @Body() dto: TransitionDto) {
    return this.move(actor, id, 'rejected', dto);
  }

  @Post(':id/reverse')
  @Roles('advertiser', 'admin', 'finance')
  @HttpCode(200)
  @ApiOperation({ summary: 'Reverse a conversion; a paid one becomes a clawback netted by the next payout' })
  @ApiOkResponse({ type: ConversionView })
  reverse(@CurrentPrincipal() actor: AuthPrincipal, @Param('id', ParseIdPipe) id: string, @Body() dto: TransitionDto) {
    return this.move(actor, id, 'reversed', dto);
  }

  private async move(actor: AuthPrincipal, id: string, to: ConversionStatus, dto: TransitionDto): Promise<ConversionView> {
    const conversion = await this.conversions.transition(id, to, { type: 'principal', id: actor.id }, dto.reason ?? null, actor);
    return toConversionView(conversion, actor);
  }
}
