import { EntityManager, IsNull } from 'typeorm';
import { OfferAccess } from './offer-access.entity';
import { OfferGoal } from './offer-goal.entity';
import { Offer } from './offer.entity';

/**
 * The queries other modules run on `offers`, `offer_goals`, `goal_payout_overrides` and
 * `offer_access` (the offers module owns its tables: see ARCHITECTURE.md): a conversion's
 * snapshot of its offer, a link's offer, an affiliate's access. Stateless, like
 * ConversionsRepository: each method runs on the caller's manager.
 */
export class OffersRepository {
  find(manager: EntityManager, id: string): Promise<Offer | null> {
    return manager.findOneBy(Offer, { id });
  }

  /** The offer with its live (unarchived) goals and their overrides, or null. */
  async withLiveGoals(manager: EntityManager, id: string): Promise<Offer | null> {
    const offer = await manager.findOneBy(Offer, { id });
    if (offer) offer.goals = await manager.find(OfferGoal, { where: { offerId: id, archivedAt: IsNull() }, relations: { overrides: true } });
    return offer;
  }

  /** Offer names by id (display only), one query for the lot. */
  async names(manager: EntityManager, ids: string[]): Promise<Map<string, string>> {
    const rows: { id: string; name: string }[] = await manager.query(`SELECT id, name FROM offers WHERE id = ANY($1::uuid[])`, [ids]);
    return new Map(rows.map((r) => [r.id, r.name]));
  }

  /**
   * Holds the offer's row until the transaction ends: the conversions of a capped offer queue
   * here, so their cap counts cannot race past the cap.
   */
  async lockForCaps(manager: EntityManager, id: string): Promise<void> {
    await manager.query('SELECT 1 FROM offers WHERE id = $1 FOR UPDATE', [id]);
  }

  /** Whether the affiliate's access to the offer is approved (asked of non-public offers). */
  isApproved(manager: EntityManager, offerId: string, affiliateId: string): Promise<boolean> {
    return manager.existsBy(OfferAccess, { offerId, affiliateId, status: 'approved' });
  }
}

export const offersRepository = new OffersRepository();
