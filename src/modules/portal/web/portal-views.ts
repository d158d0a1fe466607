import { Injectable } from '@nestjs/common';
import { Eta } from 'eta';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Role } from '../../principals/principal.entity';
import { FieldErrors, errorFor } from './forms';
import { bpsToPercent, formatDateTime, formatEarned, formatPeriod, formatMoney, formatRule, moneyInput } from './format';
import { label, NOTICES, reasonText } from './labels';
import { PortalAssets, VIEWS_DIR } from './portal-assets';
import { isHtmx, PortalContext } from './portal-request';

interface NavItem {
  href: string;
  label: string;
}

const REPORTS: NavItem = { href: '/portal/reports', label: 'Reports' };

const FINANCE_NAV: NavItem[] = [
  { href: '/portal/finance', label: 'Payouts' },
  { href: '/portal/finance/invoices', label: 'Invoices' },
  { href: '/portal/finance/statements', label: 'Statements' },
  REPORTS,
  { href: '/portal/finance/funding', label: 'Prepaid funds' },
];

const NAV: Record<Role, NavItem[]> = {
  affiliate: [
    { href: '/portal/affiliate', label: 'Earnings' },
    REPORTS,
    { href: '/portal/affiliate/offers', label: 'Offers' },
    { href: '/portal/affiliate/links', label: 'Links' },
    { href: '/portal/affiliate/coupons', label: 'Coupons' },
    { href: '/portal/affiliate/conversions', label: 'Conversions' },
    { href: '/portal/affiliate/quality', label: 'Quality' },
    { href: '/portal/affiliate/payouts', label: 'Payouts' },
    { href: '/portal/affiliate/statements', label: 'Statements' },
    { href: '/portal/affiliate/postbacks', label: 'Postbacks' },
    { href: '/portal/webhooks', label: 'Webhooks' },
    { href: '/portal/affiliate/programs', label: 'Tiers & bonuses' },
  ],
  advertiser: [
    { href: '/portal/advertiser', label: 'Stats' },
    REPORTS,
    { href: '/portal/advertiser/offers', label: 'Offers' },
    { href: '/portal/advertiser/applications', label: 'Applications' },
    { href: '/portal/advertiser/coupons', label: 'Coupons' },
    { href: '/portal/advertiser/conversions', label: 'Conversions' },
    { href: '/portal/advertiser/quality', label: 'Review' },
    { href: '/portal/advertiser/integration', label: 'Integration' },
    { href: '/portal/advertiser/invoices', label: 'Invoices' },
    { href: '/portal/advertiser/stripe', label: 'Stripe' },
    { href: '/portal/webhooks', label: 'Webhooks' },
    { href: '/portal/advertiser/programs', label: 'Programs' },
  ],
  finance: FINANCE_NAV,
  admin: [{ href: '/portal/admin', label: 'Partners' }, ...FINANCE_NAV],
};

export const HOME: Record<Role, string> = { affiliate: '/portal/affiliate', advertiser: '/portal/advertiser', finance: '/portal/finance', admin: '/portal/admin' };

/** Query string of the given values, leaving out empty ones. */
export function query(params: Record<string, string | number | null | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== null && value !== undefined && value !== '') search.set(key, String(value));
  const text = search.toString();
  return text ? `?${text}` : '';
}

/** Renders the eta views with what every page needs: the person, the navigation, the formatters bound to their time zone. */
@Injectable()
export class PortalViews {
  private readonly eta = new Eta({ views: VIEWS_DIR, cache: true, autoEscape: true, autoTrim: [false, 'nl'] });

  constructor(private readonly assets: PortalAssets) {}

  render(request: FastifyRequest, me: PortalContext | undefined, view: string, data: Record<string, unknown> = {}): string {
    const timeZone = me?.timeZone ?? 'UTC';
    const path = request.url.split('?')[0];
    const nav = me ? NAV[me.role] : [];
    const active = nav.filter((item) => path === item.href || path.startsWith(`${item.href}/`)).sort((a, b) => b.href.length - a.href.length)[0];
    const notice = typeof (request.query as Record<string, unknown>)?.notice === 'string' ? NOTICES[(request.query as Record<string, string>).notice] : undefined;
    return this.eta.render(view, {
      me,
      nav,
      active: active?.href,
      path,
      url: request.url,
      csrf: me?.csrfToken ?? '',
      notice,
      errors: {} as FieldErrors,
      values: {},
      asset: (name: string) => this.assets.url(name),
      err: (errors: FieldErrors | undefined, name: string) => errorFor(errors, name),
      fmt: {
        money: formatMoney,
        earned: formatEarned,
        moneyInput,
        rule: formatRule,
        percent: bpsToPercent,
        time: (at: Date | string | null | undefined) => formatDateTime(at, timeZone),
        period: (from: Date | string, to: Date | string) => formatPeriod(from, to, timeZone),
        label,
        reason: reasonText,
        query,
      },
      ...data,
    });
  }

  /** Sends a whole page (or, for an htmx request with `fragment`, only that view). */
  send(reply: FastifyReply, html: string, status = 200): FastifyReply {
    return reply.status(status).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(html);
  }

  page(request: FastifyRequest, reply: FastifyReply, me: PortalContext | undefined, view: string, data: Record<string, unknown> = {}, status = 200): FastifyReply {
    return this.send(reply, this.render(request, me, view, data), status);
  }

  /** 303 to `location`; for htmx, HX-Redirect so the whole page changes rather than a fragment. */
  redirect(request: FastifyRequest, reply: FastifyReply, location: string): FastifyReply {
    if (isHtmx(request)) return reply.status(200).header('hx-redirect', location).send('');
    return reply.redirect(location, 303);
  }
}
