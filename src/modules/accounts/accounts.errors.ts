import { HttpStatus } from '@nestjs/common';
import { AppError } from '../../common/errors';

export enum AccountsErrorCode {
  PrincipalNotFound = 'principal_not_found',
  ApiKeyNotFound = 'api_key_not_found',
  EmailTaken = 'email_taken',
  AccountPending = 'account_pending',
  AccountSuspended = 'account_suspended',
}

export class AccountsError extends AppError {
  static principalNotFound() {
    return new AccountsError(AccountsErrorCode.PrincipalNotFound, HttpStatus.NOT_FOUND, 'No such principal');
  }
  static apiKeyNotFound() {
    return new AccountsError(AccountsErrorCode.ApiKeyNotFound, HttpStatus.NOT_FOUND, 'No such API key');
  }
  static emailTaken(role: string) {
    return new AccountsError(AccountsErrorCode.EmailTaken, HttpStatus.CONFLICT, `An ${role} with this email already exists`);
  }
  static pending() {
    return new AccountsError(AccountsErrorCode.AccountPending, HttpStatus.FORBIDDEN, 'This account awaits approval by the network');
  }
  static suspended() {
    return new AccountsError(AccountsErrorCode.AccountSuspended, HttpStatus.FORBIDDEN, 'This account is suspended');
  }
}
