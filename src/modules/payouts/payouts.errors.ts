import { HttpStatus } from '@nestjs/common';
import { AppError } from '../../common/errors';

export enum PayoutsErrorCode {
  RunNotFound = 'payout_run_not_found',
  AffiliateNotActive = 'affiliate_not_active',
  CurrencyNotSupported = 'currency_not_supported_by_stripe',
}

export class PayoutsError extends AppError {
  static runNotFound() {
    return new PayoutsError(PayoutsErrorCode.RunNotFound, HttpStatus.NOT_FOUND, 'No such payout run');
  }
  static currencyNotSupported(currency: string) {
    return new PayoutsError(PayoutsErrorCode.CurrencyNotSupported, HttpStatus.BAD_REQUEST, `Stripe cannot transfer ${currency}: no payout run can be made in it`, [
      { field: 'currency', message: 'is not a currency Stripe can transfer' },
    ]);
  }
  static affiliateNotActive() {
    return new PayoutsError(PayoutsErrorCode.AffiliateNotActive, HttpStatus.FORBIDDEN, 'Only an active affiliate can set up payouts');
  }
}
