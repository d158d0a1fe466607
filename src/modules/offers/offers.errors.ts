import { HttpStatus } from '@nestjs/common';
import { AppError, ErrorDetail } from '../../common/errors';

export enum OffersErrorCode {
  OfferNotFound = 'offer_not_found',
  ApplicationNotFound = 'application_not_found',
  InvalidGoals = 'invalid_goals',
  NoApplicationNeeded = 'no_application_needed',
  OfferArchived = 'offer_archived',
  AdminOnlyGrant = 'admin_only_grant',
}

export class OffersError extends AppError {
  static notFound() {
    return new OffersError(OffersErrorCode.OfferNotFound, HttpStatus.NOT_FOUND, 'No such offer');
  }
  static applicationNotFound() {
    return new OffersError(OffersErrorCode.ApplicationNotFound, HttpStatus.NOT_FOUND, 'No such application');
  }
  static invalidGoals(details: ErrorDetail[]) {
    return new OffersError(OffersErrorCode.InvalidGoals, HttpStatus.BAD_REQUEST, details.map((d) => d.message).join('; '), details);
  }
  static noApplicationNeeded() {
    return new OffersError(OffersErrorCode.NoApplicationNeeded, HttpStatus.CONFLICT, 'This offer is public: create a link, no application needed');
  }
  static archived() {
    return new OffersError(OffersErrorCode.OfferArchived, HttpStatus.CONFLICT, 'This offer is archived');
  }
  static adminOnlyGrant() {
    return new OffersError(OffersErrorCode.AdminOnlyGrant, HttpStatus.FORBIDDEN, 'Only an admin grants access to a private offer without an application');
  }
}
