/**
 * The key of an `Authorization: Bearer <key>` header, however the scheme is cased or spaced, or
 * null. Everything that keys on the credential (authentication, rate limits) reads it through
 * this one parse, so `bearer k`, `Bearer  k` and `Bearer k ` are the same key everywhere.
 */
export function bearerKey(header: unknown): string | null {
  if (typeof header !== 'string') return null;
  return /^\s*Bearer\s+(\S+)\s*$/i.exec(header)?.[1] ?? null;
}
