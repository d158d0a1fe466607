import { HttpStatus } from '@nestjs/common';
import { AppError } from '../../common/errors';

export enum TrackingErrorCode {
  LinkNotFound = 'link_not_found',
  OfferAccessRequired = 'offer_access_required',
  AffiliateSuspended = 'affiliate_suspended',
  AffiliateNoAccess = 'affiliate_no_access',
  OfferUnavailable = 'offer_unavailable',
  CouponNotFound = 'coupon_not_found',
  CouponCodeTaken = 'coupon_code_taken',
  CouponNotPending = 'coupon_not_pending',
  CouponNotActive = 'coupon_not_active',
}

export class TrackingError extends AppError {
  static linkNotFound() {
    return new TrackingError(TrackingErrorCode.LinkNotFound, HttpStatus.NOT_FOUND, 'No such tracking link');
  }
  static offerAccessRequired() {
    return new TrackingError(TrackingErrorCode.OfferAccessRequired, HttpStatus.FORBIDDEN, 'Apply to this offer and wait for approval before promoting it');
  }
  static affiliateSuspended() {
    return new TrackingError(TrackingErrorCode.AffiliateSuspended, HttpStatus.FORBIDDEN, 'A suspended affiliate cannot create links or coupons');
  }
  static affiliateNoAccess() {
    return new TrackingError(TrackingErrorCode.AffiliateNoAccess, HttpStatus.CONFLICT, 'This affiliate has no access to the offer: approve its application first');
  }
  static offerUnavailable() {
    return new TrackingError(TrackingErrorCode.OfferUnavailable, HttpStatus.GONE, 'This offer is not available any more');
  }
  static couponNotFound() {
    return new TrackingError(TrackingErrorCode.CouponNotFound, HttpStatus.NOT_FOUND, 'No such coupon');
  }
  static couponCodeTaken() {
    return new TrackingError(TrackingErrorCode.CouponCodeTaken, HttpStatus.CONFLICT, 'This advertiser already has a coupon with this code (codes are case-insensitive)');
  }
  static couponNotPending() {
    return new TrackingError(TrackingErrorCode.CouponNotPending, HttpStatus.CONFLICT, 'Only a pending coupon request can be approved or rejected');
  }
  static couponNotActive() {
    return new TrackingError(TrackingErrorCode.CouponNotActive, HttpStatus.CONFLICT, 'Only an active or pending coupon can be revoked');
  }
}
