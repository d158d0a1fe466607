/**
 * Risk scores with reasons (README, "Traffic quality"): every click and conversion carries
 * `risk: {score, reasons: [{code, detail}]}`, `score` 0–100. Each reason code has a weight, the
 * chance on its own that the traffic is not what it claims; reasons combine as independent
 * evidence, `100 × (1 − Π(1 − weight/100))`, so one weak signal never reaches the default hold
 * (60) and two or three together do.
 */
export const RISK_CODES = [
  'ip_flood',
  'sub_flood',
  'bot_user_agent',
  'datacenter_ip',
  'fast_conversion',
  'geo_mismatch',
  'duplicate_customer',
  'self_referral',
  'sub_anomaly',
  'coupon_leak',
] as const;
export type RiskCode = (typeof RISK_CODES)[number];

export const RISK_WEIGHTS: Record<RiskCode, number> = {
  ip_flood: 45,
  sub_flood: 30,
  bot_user_agent: 35,
  datacenter_ip: 40,
  fast_conversion: 30,
  geo_mismatch: 25,
  duplicate_customer: 45,
  self_referral: 80,
  sub_anomaly: 30,
  coupon_leak: 50,
};

export interface RiskReason {
  code: RiskCode;
  detail: string;
}

export interface Risk {
  score: number;
  reasons: RiskReason[];
}

/** Longest detail kept: details name what was seen (an ASN, a count), never a whole request. */
const DETAIL_MAX = 200;

/**
 * The first `max` UTF-16 units of `text`, one fewer where the cut would split a character in
 * two: half a surrogate pair is not valid JSON text for PostgreSQL, which would refuse the
 * click or conversion the detail belongs to.
 */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  const code = text.charCodeAt(max - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? max - 1 : max);
}

export const NO_RISK: Risk = Object.freeze({ score: 0, reasons: [] }) as Risk;

/** The score of a set of reasons, each code counted once (the first detail kept), in code order. */
export function riskOf(...lists: (readonly (RiskReason | null | undefined)[] | null | undefined)[]): Risk {
  const byCode = new Map<RiskCode, RiskReason>();
  for (const list of lists) for (const reason of list ?? []) if (reason && !byCode.has(reason.code)) byCode.set(reason.code, reason);
  const reasons = RISK_CODES.filter((code) => byCode.has(code)).map((code) => {
    const { detail } = byCode.get(code) as RiskReason;
    return { code, detail: detail.length > DETAIL_MAX ? `${clip(detail, DETAIL_MAX - 1)}…` : detail };
  });
  let clean = 1;
  for (const { code } of reasons) clean *= 1 - RISK_WEIGHTS[code] / 100;
  return { score: Math.round(100 * (1 - clean)), reasons };
}

/** A stored risk (score and reasons columns) as the API shows it; null where it was never scored. */
export function storedRisk(score: number | null | undefined, reasons: unknown): Risk | null {
  if (score === null || score === undefined) return null;
  return { score: Number(score), reasons: Array.isArray(reasons) ? (reasons as RiskReason[]) : [] };
}

/** An offer's quality policy: at or above `rejectAbove` a conversion is rejected, at or above `holdAbove` held for review; null turns either off. */
export interface QualityPolicy {
  holdAbove: number | null;
  rejectAbove: number | null;
}
export const DEFAULT_QUALITY_POLICY: QualityPolicy = Object.freeze({ holdAbove: 60, rejectAbove: null });

export function qualityDecision(score: number, policy: Partial<QualityPolicy> | null | undefined): 'reject' | 'hold' | null {
  const { holdAbove, rejectAbove } = { ...DEFAULT_QUALITY_POLICY, ...(policy ?? {}) };
  if (rejectAbove !== null && rejectAbove !== undefined && score >= rejectAbove) return 'reject';
  if (holdAbove !== null && holdAbove !== undefined && score >= holdAbove) return 'hold';
  return null;
}

/** The codes of a risk, for a rejection's detail: "datacenter_ip, ip_flood". */
export const reasonCodes = (risk: Risk): string => risk.reasons.map((r) => r.code).join(', ');
