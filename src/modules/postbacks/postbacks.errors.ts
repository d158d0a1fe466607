import { HttpStatus } from '@nestjs/common';
import { AppError } from '../../common/errors';

export enum PostbacksErrorCode {
  SettingNotFound = 'postback_setting_not_found',
  DeliveryFailed = 'postback_delivery_failed',
}

export class PostbacksError extends AppError {
  static settingNotFound() {
    return new PostbacksError(PostbacksErrorCode.SettingNotFound, HttpStatus.NOT_FOUND, 'No postback URL is set for this scope');
  }
}

/** Thrown inside the job so BullMQ retries with backoff; the attempt is already logged. */
export class PostbackDeliveryError extends Error {}
