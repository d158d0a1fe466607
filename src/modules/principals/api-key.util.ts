import { createHash, randomBytes } from 'node:crypto';
import type { Role } from './principal.entity';

export const KEY_PREFIX: Record<Role, string> = {
  admin: 'afx_adm_',
  advertiser: 'afx_adv_',
  affiliate: 'afx_aff_',
  finance: 'afx_fin_',
};

/** What a bearer key must look like before it is looked up (authentication refuses anything else unread). */
export const API_KEY_PATTERN = /^afx_(adm|adv|aff|fin)_[A-Za-z0-9_-]{20,100}$/;

export function generateApiKey(role: Role): string {
  return KEY_PREFIX[role] + randomBytes(32).toString('base64url');
}

export function hashApiKey(key: string): Buffer {
  return createHash('sha256').update(key).digest();
}

/** What a person sees of a key after creation: enough to tell keys apart, too little to use. */
export function displayPrefix(key: string): string {
  return key.slice(0, 14);
}

export function generatePostbackToken(): string {
  return 'pbt_' + randomBytes(24).toString('base64url');
}
