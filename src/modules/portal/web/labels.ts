/** Why a conversion earned nothing, in words a partner manager reads without the API docs. */
export const REASONS: Readonly<Record<string, string>> = {
  unknown_goal: 'The goal is not one of the offer’s goals.',
  affiliate_suspended: 'The affiliate is suspended.',
  offer_inactive: 'The offer is paused or archived.',
  currency_mismatch: 'The currency differs from the offer’s currency.',
  click_to_conversion_too_fast: 'The conversion came too soon after the click (offer minimum).',
  cap_reached: 'A conversion cap or the revenue budget of the offer was reached.',
  affiliate_without_access: 'The affiliate has no approved access to this offer.',
  invalid_click_id: 'The click id is malformed or was tampered with.',
  unknown_link: 'The click id names a tracking link that does not exist.',
  unknown_coupon: 'No active coupon code of this advertiser matches.',
  click_after_conversion: 'The click happened after the conversion.',
  click_outside_window: 'The click is older than the offer’s attribution window.',
  click_of_another_advertiser: 'The click belongs to another advertiser’s offer.',
  coupon_of_another_advertiser: 'The coupon belongs to another advertiser.',
  unknown_offer: 'The offer no longer exists.',
  no_click_or_coupon: 'Neither a click id nor a coupon code was given.',
  risk: 'The risk score reached the offer’s limit; see the reasons, and appeal if they are wrong.',
};

export function reasonText(code: string | null | undefined): string {
  if (!code) return '';
  return REASONS[code] ?? code.replace(/_/g, ' ');
}

/** Values that are abbreviations, written as people write them. */
const ABBREVIATIONS: Readonly<Record<string, string>> = { seo: 'SEO', sem: 'SEM', api: 'API', csv: 'CSV', pdf: 'PDF' };

/** snake_case values as labels: "approval_required" → "Approval required", "seo" → "SEO". */
export function label(value: string | null | undefined): string {
  if (!value) return '—';
  if (ABBREVIATIONS[value]) return ABBREVIATIONS[value];
  const text = value.replace(/_/g, ' ');
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** Notices shown once after a redirect, by code: never text from the URL itself. */
export const NOTICES: Readonly<Record<string, string>> = {
  saved: 'Saved.',
  invite_revoked: 'Invitation revoked. Its link no longer works.',
  created: 'Created.',
  applied: 'Application sent. The advertiser will review it.',
  requested: 'Request sent. The advertiser will review it.',
  approved: 'Approved.',
  rejected: 'Rejected.',
  reversed: 'Reversed.',
  revoked: 'Revoked.',
  suspended: 'Suspended.',
  activated: 'Activated.',
  disabled: 'Disabled.',
  signed_out_elsewhere: 'You are signed out on every other browser.',
  two_factor_on: 'Two-factor sign-in is on. Other browsers were signed out.',
  two_factor_off: 'Two-factor sign-in is off.',
  two_factor_reset: 'Two-factor sign-in reset: they sign in with their password alone and may set it up again.',
  password_changed: 'Password changed. Other browsers were signed out.',
  password_reset: 'Your new password is set. Sign in with it.',
  welcome: 'Welcome to Afflux.',
  onboarding_done: 'Stripe onboarding finished. Payouts start once Stripe confirms your account.',
  onboarding_refresh: 'The Stripe onboarding link expired. Start again below.',
  appealed: 'Appeal sent. The advertiser will review it.',
  appeal_invalid: 'An appeal needs a message of at most 2000 characters.',
};
