import { HttpStatus } from '@nestjs/common';
import { AppError } from '../../common/errors';

export enum QualityErrorCode {
  NotAppealable = 'conversion_not_appealable',
  AppealOpen = 'appeal_already_open',
  AppealNotFound = 'appeal_not_found',
  AppealClosed = 'appeal_closed',
}

export class QualityError extends AppError {
  static notAppealable(status: string) {
    return new QualityError(QualityErrorCode.NotAppealable, HttpStatus.CONFLICT, `A ${status} conversion cannot be appealed: only a held or rejected one can`);
  }
  static appealOpen() {
    return new QualityError(QualityErrorCode.AppealOpen, HttpStatus.CONFLICT, 'This conversion already has an open appeal');
  }
  static appealNotFound() {
    return new QualityError(QualityErrorCode.AppealNotFound, HttpStatus.NOT_FOUND, 'No such appeal');
  }
  static appealClosed(status: string) {
    return new QualityError(QualityErrorCode.AppealClosed, HttpStatus.CONFLICT, `This appeal was already ${status}`);
  }
}
