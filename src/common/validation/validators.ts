import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptions } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min, registerDecorator, ValidationOptions } from 'class-validator';
import { isCurrency, MAX_MINOR_UNITS } from '../money';

/** An ISO 4217 code with a known minor unit. */
export function IsCurrencyCode(options?: ValidationOptions): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isCurrencyCode',
      target: target.constructor,
      propertyName: propertyName as string,
      options: { message: `${String(propertyName)} must be an ISO 4217 currency code such as USD, EUR or JPY`, ...options },
      validator: { validate: (value: unknown) => typeof value === 'string' && isCurrency(value) },
    });
}

/** A non-negative integer amount of minor units (cents), never a float. */
export function MinorUnits(options: ApiPropertyOptions = {}): PropertyDecorator {
  return applyDecorators(
    ApiProperty({ type: 'integer', minimum: 0, maximum: MAX_MINOR_UNITS, description: 'amount in minor units (cents)', ...options } as ApiPropertyOptions),
    IsInt({ message: '$property must be an integer number of minor units' }),
    Min(0),
    Max(MAX_MINOR_UNITS),
  );
}

/** A positive integer read from a query string. */
export function QueryInt(min: number, max: number): PropertyDecorator {
  return applyDecorators(
    IsOptional(),
    Transform(({ value }) => (typeof value === 'string' && /^\d{1,15}$/.test(value) ? Number(value) : value)),
    IsInt({ message: '$property must be an integer' }),
    Min(min),
    Max(max),
  );
}

export function TrimmedString(maxLength: number): PropertyDecorator {
  return applyDecorators(
    IsString(),
    Transform(({ value }) => (typeof value === 'string' ? value.trim() : value)),
    MaxLength(maxLength),
  );
}

/** An IANA zone name (Europe/Berlin, UTC), not an offset: PostgreSQL reads "+01:00" as POSIX, the other way round. */
const ZONE_NAME = /^[A-Za-z][A-Za-z0-9_+-]*(?:\/[A-Za-z0-9_+-]+){0,2}$/;

/** The canonical spelling of an IANA time zone as Intl knows it, or null. */
export function canonicalTimeZone(value: unknown): string | null {
  if (typeof value !== 'string' || value.length > 64 || !ZONE_NAME.test(value)) return null;
  try {
    return new Intl.DateTimeFormat('en', { timeZone: value }).resolvedOptions().timeZone;
  } catch {
    return null;
  }
}

/** An IANA time zone, stored in its canonical spelling ("utc" → "UTC"). */
export function IsTimeZone(): PropertyDecorator {
  return applyDecorators(
    Transform(({ value }) => canonicalTimeZone(value) ?? value),
    (target: object, propertyName: string | symbol) =>
      registerDecorator({
        name: 'isTimeZone',
        target: target.constructor,
        propertyName: propertyName as string,
        options: { message: `${String(propertyName)} must be an IANA time zone such as Europe/Berlin, or UTC` },
        validator: { validate: (value: unknown) => canonicalTimeZone(value) === value },
      }),
  );
}

export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/**
 * A UUID, lower-cased on the way in: ids are compared as strings in code (attribution, scoping),
 * so `ABC…` and `abc…` must not become two principals at the edge.
 */
export function IsUuidString(): PropertyDecorator {
  return applyDecorators(
    Transform(({ value }) => (typeof value === 'string' && UUID_PATTERN.test(value) ? value.toLowerCase() : value)),
    Matches(UUID_PATTERN, { message: '$property must be an id' }),
  );
}
