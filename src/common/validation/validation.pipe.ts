import { ValidationError as ClassValidatorError, ValidationPipe } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import { ErrorDetail, ValidationError } from '../errors';

/** Flattens class-validator's tree into one detail per bad field, with dotted paths. */
export function flattenValidationErrors(errors: ClassValidatorError[], parent = ''): ErrorDetail[] {
  return errors.flatMap((error) => {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const own = Object.entries(error.constraints ?? {}).map(([rule, message]) => ({
      field,
      rule,
      message: rule === 'whitelistValidation' ? `${field} is not an accepted field` : message,
    }));
    return [...own, ...flattenValidationErrors(error.children ?? [], field)];
  });
}

/** Strict input everywhere: unknown fields are refused, types are converted, every bad field listed. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    transformOptions: { enableImplicitConversion: false },
    validationError: { target: false, value: false },
    exceptionFactory: (errors) => {
      const details = flattenValidationErrors(errors);
      return new ValidationError(
        details,
        details
          .map((d) => d.message)
          .join('; ')
          .slice(0, 500),
      );
    },
  });
}

/**
 * Validates a plain object against a request DTO as the API's pipe does, and throws the
 * ValidationError the API would answer. `forbidUnknown`: a property the DTO does not declare is
 * refused (forms) rather than dropped (query strings that carry other parameters).
 */
export async function validateDto<T extends object>(cls: new () => T, plain: object, { forbidUnknown }: { forbidUnknown: boolean }): Promise<T> {
  const dto = plainToInstance(cls, plain);
  const errors = await validate(dto, { whitelist: true, forbidNonWhitelisted: forbidUnknown, validationError: { target: false, value: false } });
  if (errors.length) {
    const details = flattenValidationErrors(errors);
    throw new ValidationError(details, details.map((d) => d.message).join('; '));
  }
  return dto;
}
