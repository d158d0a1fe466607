import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AuthPrincipal, CurrentPrincipal, Roles } from '../../common/auth';
import { ParseIdPipe } from '../../common/http/parse-id.pipe';
import { mapPage, Page } from '../../common/pagination';
import { Invoice, InvoiceRun } from './billing.entities';
import { BillingService } from './billing.service';
import { InvoiceRunView, InvoiceView, ListInvoicesQueryDto, RequestInvoiceRunDto } from './dto/billing.dto';

const runView = (r: InvoiceRun): InvoiceRunView => ({
  id: r.id,
  status: r.status,
  from: r.periodFrom.toISOString(),
  to: r.periodTo.toISOString(),
  currency: r.currency,
  progress: { done: r.doneCount, total: r.totalCount },
  error: r.error,
  failures: r.failures,
  createdAt: r.createdAt.toISOString(),
});

const invoiceView = (i: Invoice, credited = 0): InvoiceView => ({
  id: i.id,
  runId: i.runId,
  advertiserId: i.advertiserId,
  currency: i.currency,
  from: i.periodFrom.toISOString(),
  to: i.periodTo.toISOString(),
  amount: i.amount,
  conversions: i.conversions,
  status: i.status,
  amountPaid: i.amountPaid,
  writtenOff: i.writtenOff,
  credited,
  error: i.error,
  stripeInvoiceId: i.stripeInvoiceId,
  hostedInvoiceUrl: i.hostedInvoiceUrl,
  lines: i.lines,
  createdAt: i.createdAt.toISOString(),
  paidAt: i.paidAt?.toISOString() ?? null,
});

@ApiTags('billing')
@ApiBearerAuth()
@Controller('v1')
export class BillingController {
  constructor(private readonly billing: BillingService) {}

  @Post('invoice-runs')
  @Roles('finance', 'admin')
  @HttpCode(202)
  @ApiOperation({ summary: 'Bill a period: one Stripe invoice per advertiser and currency for its approved results not yet billed' })
  @ApiAcceptedResponse({ type: InvoiceRunView })
  async request(@CurrentPrincipal() actor: AuthPrincipal, @Body() dto: RequestInvoiceRunDto): Promise<InvoiceRunView> {
    return runView(await this.billing.request(actor, dto));
  }

  @Get('invoice-runs/:id')
  @Roles('finance', 'admin')
  @ApiOkResponse({ type: InvoiceRunView })
  async run(@Param('id', ParseIdPipe) id: string): Promise<InvoiceRunView> {
    return runView(await this.billing.getRun(id));
  }

  @Get('invoices')
  @Roles('finance', 'admin', 'advertiser')
  @ApiOperation({ summary: 'Invoices; advertisers see their own' })
  @ApiOkResponse({ type: InvoiceView, isArray: true })
  async list(@CurrentPrincipal() actor: AuthPrincipal, @Query() query: ListInvoicesQueryDto): Promise<Page<InvoiceView>> {
    const page = await this.billing.list(actor, query);
    const credited = await this.billing.credited(page.data.map((i) => i.id));
    return mapPage(page, (i) => invoiceView(i, credited.get(i.id)));
  }
}
