import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AuthPrincipal, CurrentPrincipal, Roles } from '../../common/auth';
import { ParseIdPipe } from '../../common/http/parse-id.pipe';
import { mapPage, Page } from '../../common/pagination';
import { ListPayoutsQueryDto, PayoutAccountView, PayoutRunView, PayoutView, RequestPayoutRunDto } from './dto/payouts.dto';
import { Payout, PayoutRun } from './payout.entities';
import { PayoutDestinationsService } from './payout-destinations.service';
import { PayoutRunsService } from './payout-runs.service';

export function toRunView(run: PayoutRun): PayoutRunView {
  return {
    id: run.id,
    currency: run.currency,
    status: run.status,
    dryRun: run.dryRun,
    progress: { done: run.doneCount + run.failedCount, total: run.totalCount },
    amounts: { done: run.doneAmount, total: run.totalAmount },
    paid: run.doneCount,
    failed: run.failedCount,
    ...(run.preview ? { preview: run.preview } : {}),
    error: run.error,
    createdAt: run.createdAt.toISOString(),
    finishedAt: run.finishedAt?.toISOString() ?? null,
  };
}

export function toPayoutView(p: Payout): PayoutView {
  return {
    id: p.id,
    runId: p.runId,
    affiliateId: p.affiliateId,
    currency: p.currency,
    amount: p.amount,
    clawbackNetted: p.clawbackNetted,
    reversedAmount: p.reversedAmount,
    status: p.status,
    // The public field keeps its name (clients rely on it); it is the rail's transfer id.
    stripeTransferId: p.externalId,
    failureCode: p.failureCode,
    createdAt: p.createdAt.toISOString(),
    paidAt: p.paidAt?.toISOString() ?? null,
  };
}

@ApiTags('payouts')
@ApiBearerAuth()
@Controller('v1')
export class PayoutsController {
  constructor(
    private readonly accounts: PayoutDestinationsService,
    private readonly runs: PayoutRunsService,
  ) {}

  @Post('payout-accounts')
  @Roles('affiliate')
  @ApiOperation({ summary: 'Create (once) your Stripe Express account and get an onboarding link' })
  @ApiCreatedResponse({ type: PayoutAccountView })
  onboard(@CurrentPrincipal() actor: AuthPrincipal): Promise<PayoutAccountView> {
    return this.accounts.onboard(actor);
  }

  @Post('payout-runs')
  @Roles('finance', 'admin')
  @HttpCode(202)
  @ApiOperation({ summary: 'Pay every affiliate due in a currency (a job with progress); joins the live run if one exists; dryRun previews' })
  @ApiAcceptedResponse({ type: PayoutRunView })
  async request(@CurrentPrincipal() actor: AuthPrincipal, @Body() dto: RequestPayoutRunDto): Promise<PayoutRunView> {
    return toRunView(await this.runs.request(actor, dto));
  }

  @Get('payout-runs/:id')
  @Roles('finance', 'admin')
  @ApiOkResponse({ type: PayoutRunView })
  async get(@Param('id', ParseIdPipe) id: string): Promise<PayoutRunView> {
    return toRunView(await this.runs.get(id));
  }

  @Get('payouts')
  @Roles('finance', 'admin', 'affiliate')
  @ApiOperation({ summary: 'Payouts with their Stripe transfer ids; affiliates see their own' })
  @ApiOkResponse({ type: PayoutView, isArray: true })
  async list(@CurrentPrincipal() actor: AuthPrincipal, @Query() query: ListPayoutsQueryDto): Promise<Page<PayoutView>> {
    return mapPage(await this.runs.listPayouts(actor, query), toPayoutView);
  }
}
