import { Controller, Get, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { AuthPrincipal, CurrentPrincipal, Roles } from '../../common/auth';
import { csvAmount, CsvColumn, renderSummaryCsv, StatementModel } from './render';
import { PeriodQueryDto, StatementQueryDto, SummaryQueryDto } from './dto/statements.dto';
import { AdvertiserSummaryRow, AffiliateSummaryRow, Period, StatementsService } from './statements.service';

const money = <T extends { currency: string }>(header: string, pick: (row: T) => number): CsvColumn<T> => ({ header, value: (row) => csvAmount(pick(row), row.currency) });

export const AFFILIATE_COLUMNS: CsvColumn<AffiliateSummaryRow>[] = [
  { header: 'affiliate_id', value: (r) => r.affiliateId },
  { header: 'name', value: (r) => r.name },
  { header: 'currency', value: (r) => r.currency },
  money('earned', (r) => r.earned),
  money('reversed', (r) => r.reversed),
  money('paid', (r) => r.paid),
  money('balance', (r) => r.balance),
];

export const ADVERTISER_COLUMNS: CsvColumn<AdvertiserSummaryRow>[] = [
  { header: 'advertiser_id', value: (r) => r.advertiserId },
  { header: 'name', value: (r) => r.name },
  { header: 'currency', value: (r) => r.currency },
  money('billed', (r) => r.billed),
  money('paid', (r) => r.paid),
  money('outstanding', (r) => r.outstanding),
  money('network_margin', (r) => r.margin),
];

@ApiTags('statements')
@ApiBearerAuth()
@Controller('v1/statements')
export class StatementsController {
  constructor(private readonly statements: StatementsService) {}

  @Get()
  @Roles('affiliate', 'finance', 'admin')
  @ApiOperation({
    summary: 'Commission statement: opening balance, conversions, reversals and clawbacks, payouts with Stripe transfer ids, closing balance, per currency',
    description: 'format=json (default), csv (streamed, RFC 4180, formula-safe) or pdf. Days are local to `timezone`.',
  })
  @ApiProduces('application/json', 'text/csv', 'application/pdf')
  async statement(@CurrentPrincipal() actor: AuthPrincipal, @Query() query: StatementQueryDto, @Res() reply: FastifyReply): Promise<void> {
    const affiliate = await this.statements.affiliateFor(actor, query.affiliateId);
    const period = await this.statements.period(query.from, query.to, query.timezone ?? 'UTC');
    if (query.format === 'csv' || query.format === 'pdf') {
      const file = await this.statements.file(affiliate, period, query.format, query, query.currency);
      return reply.type(file.contentType).header('content-disposition', `attachment; filename="${file.filename}"`).send(file.body);
    }
    return reply.send(statementJson(await this.statements.model(affiliate, period, query.currency)));
  }

  @Get('summary/affiliates')
  @Roles('finance', 'admin')
  @ApiOperation({ summary: 'Every affiliate over a period: earned, reversed, paid, balance (JSON or CSV)' })
  @ApiProduces('application/json', 'text/csv')
  affiliates(@Query() query: SummaryQueryDto, @Res() reply: FastifyReply): Promise<void> {
    return this.summary(query, reply, 'affiliates', AFFILIATE_COLUMNS);
  }

  @Get('summary/advertisers')
  @Roles('finance', 'admin')
  @ApiOperation({ summary: 'Every advertiser over a period: billed, paid, outstanding, network margin (JSON or CSV)' })
  @ApiProduces('application/json', 'text/csv')
  advertisers(@Query() query: SummaryQueryDto, @Res() reply: FastifyReply): Promise<void> {
    return this.summary(query, reply, 'advertisers', ADVERTISER_COLUMNS);
  }

  private async summary<T extends { currency: string }>(
    query: SummaryQueryDto & PeriodQueryDto,
    reply: FastifyReply,
    kind: 'affiliates' | 'advertisers',
    columns: CsvColumn<T>[],
  ): Promise<void> {
    const period: Period = await this.statements.period(query.from, query.to, query.timezone ?? 'UTC');
    const rows = (await this.statements.summary(kind as 'affiliates', period)) as unknown as T[];
    if (query.format === 'csv') {
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="summary-${kind}-${query.from}-${query.to}.csv"`)
        .send(renderSummaryCsv(rows, columns));
    }
    return reply.send({ period: { from: period.from.toISOString(), to: period.to.toISOString(), timezone: period.timezone }, data: rows });
  }
}

function statementJson(model: StatementModel) {
  return {
    affiliate: model.affiliate,
    period: { from: model.period.from.toISOString(), to: model.period.to.toISOString(), timezone: model.period.timezone },
    generatedAt: model.generatedAt.toISOString(),
    sections: model.sections.map((s) => ({ ...s, lines: s.lines.map((l) => ({ ...l, at: l.at.toISOString() })) })),
  };
}
