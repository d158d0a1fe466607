import { Body, Controller, Get, Param, Patch, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AuthPrincipal, CurrentPrincipal, Roles } from '../../common/auth';
import { ParseIdPipe } from '../../common/http/parse-id.pipe';
import { PrincipalDto } from '../principals/dto/principals.dto';
import { CreateFundingDto, FundingCreatedView, FundingView, UpdateAdvertiserDto } from './dto/funding.dto';
import { FundingService } from './funding.service';

@ApiTags('funding')
@ApiBearerAuth()
@Controller('v1/advertisers')
export class FundingController {
  constructor(private readonly funding: FundingService) {}

  @Patch(':id')
  @Roles('admin')
  @ApiOperation({ summary: 'How an advertiser pays (invoice or prepaid) and its low-balance alert' })
  @ApiOkResponse({ type: PrincipalDto })
  async update(@Param('id', ParseIdPipe) id: string, @Body() dto: UpdateAdvertiserDto): Promise<PrincipalDto> {
    return PrincipalDto.from(await this.funding.update(id, dto));
  }

  @Post(':id/fundings')
  @Roles('finance', 'admin')
  @ApiOperation({
    summary:
      "Record a prepaid advertiser's top-up (posted to the ledger; covers what waits for funds and resumes its offers), or bill it through a Stripe invoice (posted when paid)",
  })
  @ApiCreatedResponse({ type: FundingCreatedView })
  async topUp(@CurrentPrincipal() actor: AuthPrincipal, @Param('id', ParseIdPipe) id: string, @Body() dto: CreateFundingDto): Promise<FundingCreatedView> {
    const { funding, balance } = await this.funding.topUp(actor, id, dto);
    return {
      id: funding.id,
      advertiserId: funding.advertiserId,
      amount: funding.amount,
      currency: funding.currency,
      reference: funding.reference,
      createdAt: funding.createdAt.toISOString(),
      status: funding.status,
      stripeInvoiceId: funding.stripeInvoiceId,
      hostedInvoiceUrl: funding.hostedInvoiceUrl,
      balance,
    };
  }

  @Get(':id/funding')
  @Roles('advertiser', 'finance', 'admin')
  @ApiOperation({ summary: "A prepaid advertiser's funds per currency: funded, reserved, spent, available" })
  @ApiOkResponse({ type: FundingView })
  view(@CurrentPrincipal() actor: AuthPrincipal, @Param('id', ParseIdPipe) id: string): Promise<FundingView> {
    return this.funding.view(actor, id);
  }
}
