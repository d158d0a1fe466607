import { HttpStatus } from '@nestjs/common';
import { AppError } from '../../common/errors';

export enum PartnerPostbacksErrorCode {
  SettingNotFound = 'postback_setting_not_found',
  DeliveryFailed = 'postback_delivery_failed',
}

export class PartnerPostbacksError extends AppError {
  static settingNotFound() {
    return new PartnerPostbacksError(PartnerPostbacksErrorCode.SettingNotFound, HttpStatus.NOT_FOUND, 'No postback URL is set for this scope');
  }
}

/** Thrown inside the job so BullMQ retries with backoff; the attempt is already logged. */
export class PartnerPostbackDeliveryError extends Error {}
