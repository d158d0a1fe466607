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

export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export function IsUuidString(): PropertyDecorator {
  return Matches(UUID_PATTERN, { message: '$property must be an id' });
}
