import { HttpStatus, ParseEnumPipe } from '@nestjs/common';
import { AppError } from '../../../common/errors';

/** A path segment naming one of a few actions; any other is the 404 page, like an unknown id. */
export function oneOf<T extends string>(...names: T[]): ParseEnumPipe<Record<T, T>> {
  return new ParseEnumPipe(Object.fromEntries(names.map((n) => [n, n])) as Record<T, T>, { exceptionFactory: () => new AppError('not_found', HttpStatus.NOT_FOUND, 'Not found') });
}
