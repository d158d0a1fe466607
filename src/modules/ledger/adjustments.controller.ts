import { Body, Controller, Get, Headers, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiHeader, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AuthPrincipal, CurrentPrincipal, Roles } from '../../common/auth';
import { mapPage, Page } from '../../common/pagination';
import { ParseIdPipe } from '../../common/http/parse-id.pipe';
import { AdjustmentsService } from './adjustments.service';
import { AdjustmentView, CreateAdjustmentDto, ListAdjustmentsQueryDto } from './dto/adjustment.dto';

@ApiTags('ledger')
@ApiBearerAuth()
@Controller('v1/adjustments')
export class AdjustmentsController {
  constructor(private readonly adjustments: AdjustmentsService) {}

  @Post()
  @Roles('admin', 'finance')
  @HttpCode(201)
  @ApiOperation({
    summary: "Credit (amount > 0) or debit (amount < 0) an affiliate's available balance by hand",
    description:
      'Posted to the ledger against the network_adjustments account; a debit beyond what is available becomes a clawback. A repeat with the same `id` or `Idempotency-Key` answers the first adjustment.',
  })
  @ApiHeader({ name: 'Idempotency-Key', required: false })
  @ApiCreatedResponse({ type: AdjustmentView })
  async create(@CurrentPrincipal() actor: AuthPrincipal, @Body() dto: CreateAdjustmentDto, @Headers('idempotency-key') key?: string): Promise<AdjustmentView> {
    return AdjustmentView.from((await this.adjustments.create(actor, dto, key)).adjustment);
  }

  @Get()
  @Roles('admin', 'finance', 'affiliate')
  @ApiOperation({ summary: 'Adjustments, newest first; an affiliate sees its own' })
  @ApiOkResponse({ type: AdjustmentView, isArray: true })
  async list(@CurrentPrincipal() actor: AuthPrincipal, @Query() query: ListAdjustmentsQueryDto): Promise<Page<AdjustmentView>> {
    return mapPage(await this.adjustments.list(actor, query), AdjustmentView.from);
  }

  @Get(':id')
  @Roles('admin', 'finance', 'affiliate')
  @ApiOkResponse({ type: AdjustmentView })
  async get(@CurrentPrincipal() actor: AuthPrincipal, @Param('id', ParseIdPipe) id: string): Promise<AdjustmentView> {
    return AdjustmentView.from(await this.adjustments.get(actor, id));
  }
}
