import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, QueryFailedError } from 'typeorm';
import { AuthPrincipal } from '../../common/auth';
import { invalidField } from '../../common/errors';
import { Page } from '../../common/pagination';
import { OffersError } from '../offers/offers.errors';
import { OffersService } from '../offers/offers.service';
import { AffiliateOffersService } from './affiliate-offers.service';
import { Coupon, CouponStatus } from './coupon.entity';
import { CreateCouponDto, ListCouponsQueryDto } from './dto/coupons.dto';
import { trackingRepository } from './tracking.repository';
import { TrackingError } from './tracking.errors';

/** What conversions need from a coupon code. */
export interface ActiveCoupon {
  id: string;
  offerId: string;
  affiliateId: string;
  code: string;
}

const isCodeTaken = (error: unknown) => error instanceof QueryFailedError && (error as unknown as { constraint?: string }).constraint === 'coupons_advertiser_code';

@Injectable()
export class CouponsService {
  private readonly logger = new Logger(CouponsService.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly offers: OffersService,
    private readonly affiliateOffers: AffiliateOffersService,
  ) {}

  /**
   * An advertiser (its own offers) or an admin assigns an active code to an affiliate; an
   * affiliate requests a vanity code for itself, pending until the advertiser decides.
   * Uniqueness per advertiser rests on the unique index, so concurrent requests get one winner.
   */
  async create(actor: AuthPrincipal, dto: CreateCouponDto): Promise<Coupon> {
    const fields = actor.role === 'affiliate' ? await this.vanityRequest(actor, dto) : await this.assignment(actor, dto);
    try {
      const coupon = await trackingRepository.insertCoupon(this.dataSource.manager, { ...fields, code: dto.code, requestedBy: actor.id });
      this.logger.log(`coupon ${coupon.id} (${coupon.status}) for affiliate ${coupon.affiliateId} on offer ${coupon.offerId} by ${actor.role} ${actor.id}`);
      return coupon;
    } catch (error) {
      if (isCodeTaken(error)) throw TrackingError.couponCodeTaken();
      throw error;
    }
  }

  list(actor: AuthPrincipal, query: ListCouponsQueryDto): Promise<Page<Coupon>> {
    return trackingRepository.listCoupons(this.dataSource.manager, actor, { offer_id: query.offerId, affiliate_id: query.affiliateId, status: query.status }, query);
  }

  async get(actor: AuthPrincipal, id: string): Promise<Coupon> {
    const coupon = await trackingRepository.findCoupon(this.dataSource.manager, actor, id);
    if (!coupon) throw TrackingError.couponNotFound();
    return coupon;
  }

  approve(actor: AuthPrincipal, id: string): Promise<Coupon> {
    return this.transition(actor, id, ['pending'], 'active', TrackingError.couponNotPending);
  }

  reject(actor: AuthPrincipal, id: string): Promise<Coupon> {
    return this.transition(actor, id, ['pending'], 'rejected', TrackingError.couponNotPending);
  }

  revoke(actor: AuthPrincipal, id: string): Promise<Coupon> {
    return this.transition(actor, id, ['active', 'pending'], 'revoked', TrackingError.couponNotActive);
  }

  /** The active coupon with this code (any case) of this advertiser, for attribution. */
  async findActive(advertiserId: string, code: string): Promise<ActiveCoupon | null> {
    const row = await trackingRepository.findActiveCoupon(this.dataSource.manager, advertiserId, code);
    return row ? { id: row.id, offerId: row.offerId, affiliateId: row.affiliateId, code: row.code } : null;
  }

  private async vanityRequest(actor: AuthPrincipal, dto: CreateCouponDto): Promise<Partial<Coupon>> {
    if (dto.affiliateId && dto.affiliateId.toLowerCase() !== actor.id) {
      throw invalidField('affiliateId', 'an affiliate requests codes for itself only', 'field_not_allowed');
    }
    const offer = await this.affiliateOffers.requirePromotable(actor.id, dto.offerId);
    return { advertiserId: offer.advertiserId, offerId: offer.id, affiliateId: actor.id, status: 'pending' };
  }

  private async assignment(actor: AuthPrincipal, dto: CreateCouponDto): Promise<Partial<Coupon>> {
    if (!dto.affiliateId) throw invalidField('affiliateId', 'is required when an advertiser or an admin assigns a code');
    const offer = await this.offers.findOwned(this.dataSource.manager, actor, dto.offerId, false);
    if (offer.status === 'archived') throw OffersError.archived();
    const affiliateId = dto.affiliateId.toLowerCase();
    await this.affiliateOffers.requireAssignable(affiliateId, offer);
    return { advertiserId: offer.advertiserId, offerId: offer.id, affiliateId, status: 'active', decidedBy: actor.id, decidedAt: new Date() };
  }

  /** Moves a coupon `actor` may manage from one of `from` to `to`, atomically; 409 from any other status. */
  private async transition(actor: AuthPrincipal, id: string, from: CouponStatus[], to: CouponStatus, refused: () => Error): Promise<Coupon> {
    const coupon = await this.get(actor, id);
    if (!(await trackingRepository.moveCoupon(this.dataSource.manager, coupon.id, from, to, actor.id))) throw refused();
    this.logger.log(`coupon ${coupon.id} ${coupon.status} -> ${to} by ${actor.role} ${actor.id}`);
    return this.get(actor, id);
  }
}
