import { HttpStatus } from '@nestjs/common';
import { AppError } from '../../common/errors';

export class ReportsError extends AppError {
  static tooLarge(maxRows: number): ReportsError {
    return new ReportsError('report_too_large', HttpStatus.BAD_REQUEST, `The report has more than ${maxRows} rows: narrow the range or group by fewer dimensions`);
  }
}
