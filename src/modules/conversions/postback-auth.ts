import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-afflux-signature';
export const SIGNATURE_TOLERANCE_S = 300;

/**
 * Parses `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<payload>">`. The payload is the raw body
 * for a POST and the raw query string for a GET, exactly as sent.
 */
export function parseSignature(header: string): { timestamp: number; signatures: string[] } | null {
  let timestamp = Number.NaN;
  const signatures: string[] = [];
  for (const part of header.split(',')) {
    const [key, value] = part.trim().split('=', 2);
    if (key === 't' && /^\d{1,12}$/.test(value ?? '')) timestamp = Number(value);
    if (key === 'v1' && /^[0-9a-f]{64}$/i.test(value ?? '')) signatures.push(value.toLowerCase());
  }
  return Number.isFinite(timestamp) && signatures.length ? { timestamp, signatures } : null;
}

export function sign(secret: string, timestamp: number, payload: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${payload}`).digest('hex');
}

/** The given signature that one of `secrets` made over `payload`, or null. */
export function matchingSignature(secrets: string[], timestamp: number, payload: string, signatures: string[]): string | null {
  for (const secret of secrets) {
    const expected = Buffer.from(sign(secret, timestamp, payload), 'hex');
    const match = signatures.find((s) => {
      const given = Buffer.from(s, 'hex');
      return given.length === expected.length && timingSafeEqual(given, expected);
    });
    if (match) return match;
  }
  return null;
}
