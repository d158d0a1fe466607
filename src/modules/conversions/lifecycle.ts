import type { ConversionStatus } from './conversion.entity';

/**
 * Which status may follow which when it is decided about one conversion (API, portal, approval
 * after the lock period, reversing or superseding postbacks). No route asks for `paid`: a payout
 * reaches it, in bulk (PAYOUT_TRANSITIONS); only a failed payout leaves it for `approved`.
 */
const DECIDED: Record<ConversionStatus, readonly ConversionStatus[]> = {
  pending: ['approved', 'rejected', 'reversed'],
  approved: ['rejected', 'reversed', 'paid'],
  paid: ['reversed'],
  rejected: [],
  reversed: [],
  unattributed: [],
};

export function canTransition(from: ConversionStatus, to: ConversionStatus): boolean {
  return DECIDED[from].includes(to);
}

/**
 * An upheld appeal (README, "Traffic quality") may also approve a conversion rejected for its risk
 * score at intake: nothing was posted for it, so approving posts its commission as usual.
 */
export function canTransitionOnAppeal(from: ConversionStatus, to: ConversionStatus, reason: string | null): boolean {
  return canTransition(from, to) || (from === 'rejected' && to === 'approved' && reason === 'risk');
}

/**
 * The moves a payout makes, in bulk, on the conversions it pays (ConversionsRepository's
 * `moveForPayout` runs them by name and nothing else): planned, the approved conversions become
 * paid; failed, they are approved again. Their events carry `reason` and send no postback.
 */
export const PAYOUT_TRANSITIONS = {
  payoutPaid: { from: 'approved', to: 'paid', reason: 'paid in a payout' },
  payoutFailed: { from: 'paid', to: 'approved', reason: 'payout failed' },
} as const satisfies Record<string, { from: ConversionStatus; to: ConversionStatus; reason: string }>;

export type PayoutTransition = keyof typeof PAYOUT_TRANSITIONS;

/** Every allowed move, decided or made by a payout, as `from → to` (the lifecycle at a glance, and its test). */
export function allowedTransitions(): string[] {
  const decided = Object.entries(DECIDED).flatMap(([from, tos]) => tos.map((to) => `${from} → ${to}`));
  const payout = Object.values(PAYOUT_TRANSITIONS).map((t) => `${t.from} → ${t.to} (payout)`);
  return [...decided, ...payout];
}
