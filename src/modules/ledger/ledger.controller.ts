import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AuthPrincipal, CurrentPrincipal, Roles } from '../../common/auth';
import { mapPage, Page } from '../../common/pagination';
import { EarningsQueryDto, EarningsView, JournalEntryView, LedgerAccountView, ListLedgerAccountsQueryDto, ListEntriesQueryDto } from './dto/ledger.dto';
import { LedgerService } from './ledger.service';

@ApiTags('ledger')
@ApiBearerAuth()
@Controller('v1')
export class LedgerController {
  constructor(private readonly ledger: LedgerService) {}

  @Get('ledger/entries')
  @Roles('admin', 'finance')
  @ApiOperation({ summary: 'Journal entries with their lines, newest first; amounts signed, debit positive' })
  @ApiOkResponse({ type: JournalEntryView, isArray: true })
  entries(@Query() query: ListEntriesQueryDto): Promise<Page<JournalEntryView>> {
    return this.ledger.entries(query);
  }

  @Get('ledger/accounts')
  @Roles('admin', 'finance')
  @ApiOperation({ summary: 'Ledger accounts with their balances (sum of lines, debit positive)' })
  @ApiOkResponse({ type: LedgerAccountView, isArray: true })
  async accounts(@Query() query: ListLedgerAccountsQueryDto): Promise<Page<LedgerAccountView>> {
    return mapPage(await this.ledger.accounts(query), LedgerAccountView.from);
  }

  @Get('earnings')
  @Roles('affiliate', 'admin', 'finance')
  @ApiOperation({
    summary: 'An affiliate’s pending, available, paid and clawback balances per currency, in minor units',
    description: 'Affiliates get their own (naming another affiliate answers 404); admin and finance must name `affiliateId`.',
  })
  @ApiOkResponse({ type: EarningsView })
  earnings(@CurrentPrincipal() actor: AuthPrincipal, @Query() query: EarningsQueryDto): Promise<EarningsView> {
    return this.ledger.earnings(actor, query.affiliateId, query.currency);
  }
}
