import { HttpStatus } from '@nestjs/common';
import { AppError } from '../../common/errors';

export enum PayoutsErrorCode {
  RunNotFound = 'payout_run_not_found',
  AffiliateNotActive = 'affiliate_not_active',
}

export class PayoutsError extends AppError {
  static runNotFound() {
    return new PayoutsError(PayoutsErrorCode.RunNotFound, HttpStatus.NOT_FOUND, 'No such payout run');
  }
  static affiliateNotActive() {
    return new PayoutsError(PayoutsErrorCode.AffiliateNotActive, HttpStatus.FORBIDDEN, 'Only an active affiliate can set up payouts');
  }
}
