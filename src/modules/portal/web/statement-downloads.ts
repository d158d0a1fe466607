import { Injectable } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { AppError, invalidField } from '../../../common/errors';
import { UUID_PATTERN } from '../../../common/validation/validators';
import { PrincipalsService } from '../../principals/principals.service';
import { StatementsService } from '../../statements/statements.service';
import { tryForm } from './forms';
import { dayIn, isDay } from './format';
import { PortalContext, PortalRequest } from './portal-request';
import { PortalViews } from './portal-views';

type Q = Record<string, unknown>;

/** The statement form and its CSV/PDF download, for an affiliate (its own) and for finance (any affiliate). */
@Injectable()
export class StatementDownloads {
  constructor(
    private readonly statements: StatementsService,
    private readonly principals: PrincipalsService,
    private readonly views: PortalViews,
  ) {}

  async page(me: PortalContext, request: PortalRequest, reply: FastifyReply, query: Q, view: string, problem?: unknown, status = 200, extra: Record<string, unknown> = {}) {
    const today = dayIn(new Date(), me.timeZone);
    const values = {
      from: isDay(query.from) ? query.from : `${today.slice(0, 8)}01`,
      to: isDay(query.to) ? query.to : today,
      affiliateId: typeof query.affiliateId === 'string' ? query.affiliateId : '',
    };
    const affiliates = me.role === 'affiliate' ? [] : (await this.principals.listPrincipals('affiliate')).map((a) => ({ value: a.id, label: `${a.name} (${a.email})` }));
    return this.views.page(request, reply, me, view, { title: 'Statements', values, affiliates, problem, ...extra }, status);
  }

  async download(me: PortalContext, request: PortalRequest, reply: FastifyReply, query: Q, view: string) {
    const format = query.format === 'pdf' ? 'pdf' : 'csv';
    let file: Awaited<ReturnType<StatementsService['file']>> | undefined;
    const problem = await tryForm(async () => {
      if (!isDay(query.from)) throw invalidField('from', 'must be a date');
      if (!isDay(query.to)) throw invalidField('to', 'must be a date');
      if (me.role !== 'affiliate' && !query.affiliateId) throw invalidField('affiliateId', 'choose an affiliate');
      if (me.role !== 'affiliate' && !UUID_PATTERN.test(String(query.affiliateId))) throw new AppError('not_found', 404, 'Not found');
      const affiliate = await this.statements.affiliateFor(me.actor, me.role === 'affiliate' ? undefined : (query.affiliateId as string));
      const period = await this.statements.period(query.from as string, query.to as string, me.timeZone);
      file = await this.statements.file(affiliate, period, format, { from: query.from as string, to: query.to as string });
    });
    if (!file) return this.page(me, request, reply, query, view, problem, 422);
    return reply.type(file.contentType).header('cache-control', 'no-store').header('content-disposition', `attachment; filename="${file.filename}"`).send(file.body);
  }
}
