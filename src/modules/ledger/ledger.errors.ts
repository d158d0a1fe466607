import { HttpStatus } from '@nestjs/common';
import { AppError } from '../../common/errors';

export enum LedgerErrorCode {
  UnbalancedEntry = 'unbalanced_entry',
  InvalidAmount = 'invalid_amount',
  InvalidCurrency = 'invalid_currency',
  InvalidAccount = 'invalid_account',
  InvalidEntry = 'invalid_entry',
  TooFewLines = 'too_few_lines',
  UnknownOwner = 'unknown_owner',
  InsufficientAvailable = 'insufficient_available',
  AffiliateNotFound = 'affiliate_not_found',
}

export type PostingErrorCode = Exclude<LedgerErrorCode, LedgerErrorCode.AffiliateNotFound>;

/**
 * A posting the ledger refuses, or a lookup that names nothing. Posting errors are bugs in the
 * caller (the entry is built by code, not typed by people), so they abort the caller's transaction.
 */
export class LedgerError extends AppError {
  static posting(code: PostingErrorCode, message: string) {
    return new LedgerError(code, HttpStatus.UNPROCESSABLE_ENTITY, message);
  }
  /** The database refused a posting that would take an affiliate's available balance below zero. */
  static insufficientAvailable() {
    return new LedgerError(
      LedgerErrorCode.InsufficientAvailable,
      HttpStatus.CONFLICT,
      "The posting would take an affiliate's available balance below zero; what an affiliate owes goes to its clawback account",
    );
  }
  static affiliateNotFound() {
    return new LedgerError(LedgerErrorCode.AffiliateNotFound, HttpStatus.NOT_FOUND, 'No such affiliate');
  }
}
