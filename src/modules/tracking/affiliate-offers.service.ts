import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { invalidField } from '../../common/errors';
import type { Principal } from '../principals/principal.entity';
import { principalsRepository } from '../principals/principals.repository';
import type { Offer } from '../offers/offer.entity';
import { offersRepository } from '../offers/offers.repository';
import { OffersError } from '../offers/offers.errors';
import { OffersService } from '../offers/offers.service';
import { TrackingError } from './tracking.errors';

/** Whether an affiliate may promote an offer, for links and vanity coupon requests. */
@Injectable()
export class AffiliateOffersService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly offers: OffersService,
  ) {}

  /**
   * The offer, if `affiliateId` may promote it: it is active or paused, and public or approved
   * for this affiliate. A private offer without a grant is a 404 (it is invisible); an archived
   * one the affiliate could see is a 409; an approval_required one without approval a 403.
   */
  async requirePromotable(affiliateId: string, offerId: string): Promise<Offer> {
    if ((await this.affiliate(affiliateId))?.status === 'suspended') throw TrackingError.affiliateSuspended();
    const offer = await offersRepository.find(this.dataSource.manager, offerId);
    if (!offer) throw OffersError.notFound();
    const access = await this.offers.accessOf(offer, affiliateId);
    if (offer.visibility === 'private' && access !== 'approved') throw OffersError.notFound();
    if (offer.status === 'archived') throw OffersError.archived();
    if (access !== 'approved') throw TrackingError.offerAccessRequired();
    return offer;
  }

  /** For a coupon assigned by the advertiser or an admin: the named affiliate exists and has access. */
  async requireAssignable(affiliateId: string, offer: Offer): Promise<void> {
    if (!(await this.affiliate(affiliateId))) throw invalidField('affiliateId', 'names no affiliate');
    if ((await this.offers.accessOf(offer, affiliateId)) !== 'approved') throw TrackingError.affiliateNoAccess();
  }

  private affiliate(id: string): Promise<Principal | null> {
    return principalsRepository.find(this.dataSource.manager, id, 'affiliate');
  }
}
