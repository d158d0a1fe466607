import { Injectable, PipeTransform } from '@nestjs/common';
import { AppError } from '../errors';
import { UUID_PATTERN } from '../validation/validators';
import { HttpStatus } from '@nestjs/common';

/** A malformed id names nothing: 404, the same answer as an id that belongs to someone else. */
@Injectable()
export class ParseIdPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (typeof value !== 'string' || !UUID_PATTERN.test(value)) {
      throw new AppError('not_found', HttpStatus.NOT_FOUND, 'Not found');
    }
    return value.toLowerCase();
  }
}
