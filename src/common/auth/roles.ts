/** Who a principal is; the guards of every feature check it, so it lives below them. */
export const ROLES = ['admin', 'advertiser', 'affiliate', 'finance'] as const;
export type Role = (typeof ROLES)[number];
