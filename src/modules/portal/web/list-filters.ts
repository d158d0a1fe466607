import { Injectable } from '@nestjs/common';
import { StatementsService } from '../../statements/statements.service';
import { FieldErrors } from './forms';
import { addDays, dayIn, isDay } from './format';
import { PortalContext } from './portal-request';

export interface Filters {
  from: string;
  to: string;
  status?: string;
  cursor?: string;
}

export interface ListQuery {
  filters: Filters;
  /** The chosen days in the person's zone as the instants services filter on, ISO 8601. */
  range: { from: string; to: string };
  errors: FieldErrors;
  /** The filters as query parameters, for the pager's links. */
  params: Record<string, string | undefined>;
}

const DEFAULT_DAYS = 30;

/** Reads a table's filters (days in the person's zone, a status, a cursor), falling back to the last 30 days. */
@Injectable()
export class ListFilters {
  constructor(private readonly statements: StatementsService) {}

  async read(me: PortalContext, query: Record<string, unknown>, statuses?: readonly string[]): Promise<ListQuery> {
    const today = dayIn(new Date(), me.timeZone);
    const errors: FieldErrors = {};
    const pick = (name: 'from' | 'to', fallback: string) => {
      const value = query[name];
      if (value === undefined || value === '') return fallback;
      if (isDay(value)) return value;
      errors[name] = `${name === 'from' ? 'From' : 'To'} must be a date`;
      return fallback;
    };
    let from = pick('from', addDays(today, 1 - DEFAULT_DAYS));
    const to = pick('to', today);
    if (from > to) {
      errors.from = 'From must not be after To';
      from = to;
    }
    const status = typeof query.status === 'string' && statuses?.includes(query.status) ? query.status : undefined;
    const cursor = typeof query.cursor === 'string' && query.cursor ? query.cursor : undefined;
    const period = await this.statements.period(from, to, me.timeZone);
    return {
      filters: { from, to, status, cursor },
      range: { from: period.from.toISOString(), to: period.to.toISOString() },
      errors,
      params: { from, to, status },
    };
  }
}
