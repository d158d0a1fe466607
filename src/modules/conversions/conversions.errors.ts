import { HttpStatus } from '@nestjs/common';
import { AppError } from '../../common/errors';

export enum ConversionsErrorCode {
  ConversionNotFound = 'conversion_not_found',
  InvalidTransition = 'invalid_transition',
  AmountRequired = 'amount_required',
  InvalidAmount = 'invalid_amount',
  InvalidPostbackToken = 'invalid_postback_token',
  InvalidSignature = 'invalid_signature',
  StaleSignature = 'stale_signature',
  SignatureReplayed = 'signature_replayed',
  UnsignedParameters = 'unsigned_parameters',
  InvalidConversionTime = 'invalid_conversion_time',
  AwaitingFunds = 'awaiting_funds',
}

export class ConversionsError extends AppError {
  static notFound() {
    return new ConversionsError(ConversionsErrorCode.ConversionNotFound, HttpStatus.NOT_FOUND, 'No such conversion');
  }
  static invalidTransition(from: string, to: string) {
    return new ConversionsError(ConversionsErrorCode.InvalidTransition, HttpStatus.CONFLICT, `A ${from} conversion cannot become ${to}`);
  }
  static awaitingFunds() {
    return new ConversionsError(
      ConversionsErrorCode.AwaitingFunds,
      HttpStatus.CONFLICT,
      "The advertiser's prepaid funds do not cover this conversion yet: it is approved once a top-up covers it",
    );
  }
  static amountRequired(goal: string) {
    return new ConversionsError(ConversionsErrorCode.AmountRequired, HttpStatus.BAD_REQUEST, `Goal "${goal}" pays a percentage: the sale amount is required`, [
      { field: 'amount', message: 'is required for a percent goal' },
    ]);
  }
  static invalidAmount(field: string, message: string) {
    return new ConversionsError(ConversionsErrorCode.InvalidAmount, HttpStatus.BAD_REQUEST, `${field}: ${message}`, [{ field, message }]);
  }
  static invalidToken() {
    return new ConversionsError(ConversionsErrorCode.InvalidPostbackToken, HttpStatus.UNAUTHORIZED, 'A valid postback token or signature is required');
  }
  static invalidSignature() {
    return new ConversionsError(ConversionsErrorCode.InvalidSignature, HttpStatus.UNAUTHORIZED, 'The postback signature does not match');
  }
  static signatureReplayed() {
    return new ConversionsError(ConversionsErrorCode.SignatureReplayed, HttpStatus.UNAUTHORIZED, 'This signature was accepted before: sign each postback afresh (a new t=)');
  }
  static unsignedParameters() {
    return new ConversionsError(
      ConversionsErrorCode.UnsignedParameters,
      HttpStatus.UNAUTHORIZED,
      'A signed POST signs its body only: put every parameter (advertiser_id included) in the body, none in the query string',
    );
  }
  static invalidConversionTime(message: string) {
    return new ConversionsError(ConversionsErrorCode.InvalidConversionTime, HttpStatus.BAD_REQUEST, `conversion time: ${message}`, [{ field: 'conversion_time', message }]);
  }
  static staleSignature() {
    return new ConversionsError(ConversionsErrorCode.StaleSignature, HttpStatus.UNAUTHORIZED, 'The postback signature is older than 5 minutes');
  }
}

/** Why a conversion was stored as rejected; stable codes for reports and advertisers' tools. */
export enum RejectionReason {
  UnknownGoal = 'unknown_goal',
  AffiliateSuspended = 'affiliate_suspended',
  OfferInactive = 'offer_inactive',
  CurrencyMismatch = 'currency_mismatch',
  TooFast = 'click_to_conversion_too_fast',
  CapReached = 'cap_reached',
  NoAccess = 'affiliate_without_access',
  /** The click was made on an archived link: it never could earn. */
  LinkBlocked = 'link_blocked',
  /** A pixel's amount on an offer that does not trust pixel amounts, for a goal that needs one. */
  PixelAmountNotTrusted = 'pixel_amount_not_trusted',
  /** The risk score reached the offer's `quality.rejectAbove` (the reasons are on the conversion). */
  Risk = 'risk',
}
