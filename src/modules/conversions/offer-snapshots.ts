import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { ChangeEvents } from '../../common/events/change-events';
import { BillingMode, PrincipalStatus } from '../principals/principal.entity';
import { principalsRepository } from '../principals/principals.repository';
import type { Offer } from '../offers/offer.entity';
import { offersRepository } from '../offers/offers.repository';

const TTL_MS = 2_000;

export interface AdvertiserBilling {
  billingMode: BillingMode;
  lowBalanceAlert: number | null;
}

interface Cached<T> {
  value: T;
  expires: number;
}

/**
 * Short-lived copies of offers (with goals and overrides) and principal statuses for the
 * conversion path, so a burst of postbacks reads each offer once. Changes made in this process
 * evict at once; another process's change shows within two seconds, and the rule applied is
 * written on every conversion either way.
 */
@Injectable()
export class OfferSnapshots {
  private readonly offerCache = new Map<string, Cached<Offer | null>>();
  private readonly statusCache = new Map<string, Cached<PrincipalStatus | null>>();
  private readonly offerLoads = new Map<string, Promise<Offer | null>>();
  private readonly billingCache = new Map<string, Cached<AdvertiserBilling>>();

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    changes: ChangeEvents,
  ) {
    changes.subscribe((kind, id) => {
      if (kind === 'offer') this.offerCache.delete(id);
      else {
        this.statusCache.delete(id);
        this.billingCache.delete(id);
      }
    });
  }

  async offer(id: string): Promise<Offer | null> {
    const hit = this.offerCache.get(id);
    if (hit && hit.expires > Date.now()) return hit.value;
    // Single flight: a burst of postbacks for one offer waits on one load, not one each.
    const loading = this.offerLoads.get(id);
    if (loading) return loading;
    const load = this.loadOffer(id).finally(() => this.offerLoads.delete(id));
    this.offerLoads.set(id, load);
    return load;
  }

  private async loadOffer(id: string): Promise<Offer | null> {
    const offer = await offersRepository.withLiveGoals(this.dataSource.manager, id);
    this.remember(this.offerCache, id, offer);
    return offer;
  }

  async offers(ids: string[]): Promise<Map<string, Offer>> {
    const unique = [...new Set(ids)];
    const found = await Promise.all(unique.map((id) => this.offer(id)));
    return new Map(found.filter((o): o is Offer => o !== null).map((o) => [o.id, o]));
  }

  async principalStatus(id: string): Promise<PrincipalStatus | null> {
    const hit = this.statusCache.get(id);
    if (hit && hit.expires > Date.now()) return hit.value;
    const status = await principalsRepository.status(this.dataSource.manager, id);
    this.remember(this.statusCache, id, status);
    return status;
  }

  /** How an advertiser pays: by invoice, or from prepaid funds (with its low-balance alert). */
  async billing(advertiserId: string): Promise<AdvertiserBilling> {
    const hit = this.billingCache.get(advertiserId);
    if (hit && hit.expires > Date.now()) return hit.value;
    const billing = (await principalsRepository.billing(this.dataSource.manager, advertiserId)) ?? { billingMode: 'invoice', lowBalanceAlert: null };
    this.remember(this.billingCache, advertiserId, billing);
    return billing;
  }

  async hasAccess(offer: Offer, affiliateId: string): Promise<boolean> {
    if (offer.visibility === 'public') return true;
    return offersRepository.isApproved(this.dataSource.manager, offer.id, affiliateId);
  }

  private remember<T>(map: Map<string, Cached<T>>, key: string, value: T): void {
    if (map.size > 5_000) map.clear();
    map.set(key, { value, expires: Date.now() + TTL_MS });
  }
}
