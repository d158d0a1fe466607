import { formatMinorUnits } from '../../common/money';

export const PARTNER_POSTBACK_MACROS = ['click_id', 'sub1', 'sub2', 'sub3', 'sub4', 'sub5', 'payout', 'currency', 'status', 'goal', 'txn_id', 'offer_id', 'conversion_id'] as const;

export interface PartnerPostbackFacts {
  clickId: string | null;
  subs: (string | null)[];
  payout: number;
  currency: string | null;
  status: string;
  goal: string;
  txnId: string;
  offerId: string | null;
  conversionId: string;
}

/** Macro values for an affiliate's template; `{payout}` as a decimal string in the currency ("4.50"). */
export function partnerPostbackValues(f: PartnerPostbackFacts): Record<string, string | null> {
  const values: Record<string, string | null> = {
    click_id: f.clickId,
    payout: f.currency ? formatMinorUnits(f.payout, f.currency) : String(f.payout),
    currency: f.currency,
    status: f.status,
    goal: f.goal,
    txn_id: f.txnId,
    offer_id: f.offerId,
    conversion_id: f.conversionId,
  };
  f.subs.forEach((sub, i) => (values[`sub${i + 1}`] = sub));
  return values;
}
