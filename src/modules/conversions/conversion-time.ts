import { isISO8601, registerDecorator, ValidationOptions } from 'class-validator';

/** How far ahead of our clock an advertiser's conversion time may be (their clock drifts). */
export const CONVERSION_TIME_SKEW_MS = 5 * 60_000;

const UNIX_SECONDS = /^\d{9,11}$/;
/** An ISO 8601 time must say its zone: a local time would mean a different instant to each side. */
const WITH_ZONE = /(?:Z|[+-]\d{2}(?::?\d{2})?)$/i;

/**
 * When a conversion happened as the advertiser reports it: ISO 8601 with a zone
 * (`2026-03-01T23:59:00-05:00`) or unix seconds (`1772427540`); null for anything else.
 */
export function parseConversionTime(value: unknown): Date | null {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value > 0 ? new Date(value * 1000) : null;
  if (typeof value !== 'string') return null;
  if (UNIX_SECONDS.test(value)) return new Date(Number(value) * 1000);
  if (!isISO8601(value, { strict: true, strictSeparator: true }) || !WITH_ZONE.test(value)) return null;
  const at = new Date(value);
  return Number.isNaN(at.getTime()) ? null : at;
}

export function IsConversionTime(options?: ValidationOptions): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isConversionTime',
      target: target.constructor,
      propertyName: propertyName as string,
      options: { message: `${String(propertyName)} must be an ISO 8601 time with a zone (2026-03-01T23:59:00Z) or unix seconds`, ...options },
      validator: { validate: (value: unknown) => parseConversionTime(value) !== null },
    });
}
