import { HttpStatus } from '@nestjs/common';
import { AppError } from '../../common/errors';

export enum AccountsErrorCode {
  PrincipalNotFound = 'principal_not_found',
  ApiKeyNotFound = 'api_key_not_found',
  EmailTaken = 'email_taken',
  AccountPending = 'account_pending',
  AccountSuspended = 'account_suspended',
  AccountRejected = 'account_rejected',
  NotPending = 'not_pending',
}

export class PrincipalsError extends AppError {
  static principalNotFound() {
    return new PrincipalsError(AccountsErrorCode.PrincipalNotFound, HttpStatus.NOT_FOUND, 'No such principal');
  }
  static apiKeyNotFound() {
    return new PrincipalsError(AccountsErrorCode.ApiKeyNotFound, HttpStatus.NOT_FOUND, 'No such API key');
  }
  static emailTaken(role: string) {
    return new PrincipalsError(AccountsErrorCode.EmailTaken, HttpStatus.CONFLICT, `An ${role} with this email already exists`);
  }
  static pending() {
    return new PrincipalsError(AccountsErrorCode.AccountPending, HttpStatus.FORBIDDEN, 'This account awaits approval by the network');
  }
  static suspended() {
    return new PrincipalsError(AccountsErrorCode.AccountSuspended, HttpStatus.FORBIDDEN, 'This account is suspended');
  }
  static rejected() {
    return new PrincipalsError(AccountsErrorCode.AccountRejected, HttpStatus.FORBIDDEN, 'The network turned this application down');
  }
  static notPending() {
    return new PrincipalsError(AccountsErrorCode.NotPending, HttpStatus.CONFLICT, 'Only an affiliate awaiting approval can be rejected');
  }
}
