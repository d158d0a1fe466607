import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomBytes } from 'node:crypto';
import { DataSource, QueryFailedError } from 'typeorm';
import { AuthPrincipal } from '../../common/auth';
import { Page, paginate } from '../../common/pagination';
import { UUID_PATTERN } from '../../common/validation/validators';
import { Config } from '../../config/configuration';
import type { PrincipalStatus } from '../principals/principal.entity';
import { principalsRepository } from '../principals/principals.repository';
import type { OfferStatus } from '../offers/offer.entity';
import { offersRepository } from '../offers/offers.repository';
import { AffiliateOffersService } from './affiliate-offers.service';
import type { ClickStatus } from './click.entity';
import { CreateLinkDto, ListLinksQueryDto } from './dto/links.dto';
import { scopedQuery } from './scope';
import { TrackingError } from './tracking.errors';
import { Channel, SubValues, subValuesOf, TrackingLink } from './tracking-link.entity';
import { TtlCache } from './ttl-cache';

const BASE62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const CODE_LENGTH = 10;
const CODE_ATTEMPTS = 5;
export const LINK_CODE_PATTERN = /^[A-Za-z0-9]{4,32}$/;

/** 10 base62 characters from crypto randomness (≈ 59.5 bits): short, URL-safe, unguessable. */
export function generateLinkCode(): string {
  let code = '';
  while (code.length < CODE_LENGTH) {
    for (const byte of randomBytes(16)) {
      // 248 = 4 × 62: rejecting the bytes above keeps every character equally likely.
      if (byte < 248 && code.length < CODE_LENGTH) code += BASE62[byte % 62];
    }
  }
  return code;
}

/** What conversions need to attribute a click on a link. */
export interface LinkContext extends SubValues {
  linkId: string;
  offerId: string;
  affiliateId: string;
  advertiserId: string;
  channel: Channel;
}

/** A link with what its redirect needs: the offer's URLs and window, and whether it may run. */
export interface ResolvedLink extends LinkContext {
  code: string;
  landingUrl: string;
  fallbackUrl: string | null;
  attributionWindowDays: number;
  /** ok, or why clicks go to the fallback URL. */
  status: ClickStatus;
}

interface ResolvedRow extends SubValues {
  id: string;
  code: string;
  affiliate_id: string;
  offer_id: string;
  advertiser_id: string;
  channel: Channel;
  archived: boolean;
}

function statusOf(archived: boolean, offerStatus: OfferStatus, affiliateStatus: PrincipalStatus): ClickStatus {
  if (archived) return 'link_archived';
  if (offerStatus === 'archived') return 'offer_archived';
  if (offerStatus === 'paused') return 'offer_paused';
  if (affiliateStatus !== 'active') return 'affiliate_suspended';
  return 'ok';
}

/** The link; its offer and affiliate are asked of their owners (offers, principals). */
const RESOLVE_SQL = (by: 'code' | 'id') => `
  SELECT l.id, l.code, l.affiliate_id, l.offer_id, l.advertiser_id, l.channel, l.sub1, l.sub2, l.sub3, l.sub4, l.sub5,
         l.archived_at IS NOT NULL AS archived
    FROM tracking_links l
   WHERE l.${by} = $1`;

@Injectable()
export class LinksService {
  private readonly logger = new Logger(LinksService.name);
  private readonly byCode: TtlCache<ResolvedLink>;
  private readonly byId: TtlCache<ResolvedLink>;
  private readonly publicBaseUrl: string;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly affiliateOffers: AffiliateOffersService,
    config: ConfigService<Config, true>,
  ) {
    const ttlMs = config.get('tracking', { infer: true }).linkCacheTtlMs;
    const options = { ttlMs, negativeTtlMs: Math.min(ttlMs, 1000), maxEntries: 100_000 };
    this.byCode = new TtlCache(options);
    this.byId = new TtlCache(options);
    this.publicBaseUrl = config.get('app', { infer: true }).publicBaseUrl;
  }

  async create(actor: AuthPrincipal, dto: CreateLinkDto): Promise<TrackingLink> {
    const offer = await this.affiliateOffers.requirePromotable(actor.id, dto.offerId);
    const repository = this.dataSource.getRepository(TrackingLink);
    for (let attempt = 1; ; attempt++) {
      try {
        const link = await repository.save(
          repository.create({
            code: generateLinkCode(),
            affiliateId: actor.id,
            offerId: offer.id,
            advertiserId: offer.advertiserId,
            label: dto.label ?? null,
            channel: dto.channel ?? 'other',
            sub1: dto.sub1 ?? null,
            sub2: dto.sub2 ?? null,
            sub3: dto.sub3 ?? null,
            sub4: dto.sub4 ?? null,
            sub5: dto.sub5 ?? null,
          }),
        );
        this.logger.log(`link ${link.id} (${link.code}) created by affiliate ${actor.id} for offer ${offer.id}`);
        return link;
      } catch (error) {
        const collided = error instanceof QueryFailedError && (error as unknown as { constraint?: string }).constraint === 'tracking_links_code_key';
        if (!collided || attempt >= CODE_ATTEMPTS) throw error;
      }
    }
  }

  list(actor: AuthPrincipal, query: ListLinksQueryDto): Promise<Page<TrackingLink>> {
    const qb = this.dataSource.getRepository(TrackingLink).createQueryBuilder('l');
    scopedQuery(qb, 'l', actor, { offer_id: query.offerId, affiliate_id: query.affiliateId });
    return paginate(qb, 'l', query);
  }

  /** A link `actor` may see; 404 otherwise. */
  async get(actor: AuthPrincipal, id: string): Promise<TrackingLink> {
    const qb = this.dataSource.getRepository(TrackingLink).createQueryBuilder('l').where('l.id = :id', { id });
    const link = await scopedQuery(qb, 'l', actor).getOne();
    if (!link) throw TrackingError.linkNotFound();
    return link;
  }

  /** Archives a link: its clicks go to the offer's fallback URL from then on (within the cache lifetime elsewhere). */
  async archive(actor: AuthPrincipal, id: string): Promise<TrackingLink> {
    const link = await this.get(actor, id);
    if (!link.archivedAt) {
      link.archivedAt = new Date();
      await this.dataSource.getRepository(TrackingLink).update({ id: link.id }, { archivedAt: link.archivedAt });
      this.byCode.delete(link.code);
      this.byId.delete(link.id);
      this.logger.log(`link ${link.id} archived by ${actor.role} ${actor.id}`);
    }
    return link;
  }

  url(code: string): string {
    return `${this.publicBaseUrl}/c/${code}`;
  }

  /** The redirect's view of a link by code, from a short-lived cache (a value, or a promise on a miss). */
  resolve(code: string): ResolvedLink | null | Promise<ResolvedLink | null> {
    return this.byCode.get(code, (key) => this.load('code', key));
  }

  /** Attribution context of a link (cached); null for an unknown id. */
  async context(linkId: string): Promise<LinkContext | null> {
    if (!UUID_PATTERN.test(linkId)) return null;
    const link = await this.byId.get(linkId.toLowerCase(), (key) => this.load('id', key));
    if (!link) return null;
    const { linkId: id, offerId, affiliateId, advertiserId, channel } = link;
    return { linkId: id, offerId, affiliateId, advertiserId, channel, ...subValuesOf(link) };
  }

  /** Forgets every cached link, so the next redirect reads offers and affiliates afresh. */
  clearCache(): void {
    this.byCode.clear();
    this.byId.clear();
  }

  private async load(by: 'code' | 'id', value: string): Promise<ResolvedLink | null> {
    const [row]: ResolvedRow[] = await this.dataSource.query(RESOLVE_SQL(by), [value]);
    if (!row) return null;
    const manager = this.dataSource.manager;
    const [offer, affiliateStatus] = await Promise.all([offersRepository.find(manager, row.offer_id), principalsRepository.status(manager, row.affiliate_id)]);
    // Both are foreign keys of the link: they exist.
    if (!offer || !affiliateStatus) return null;
    return {
      linkId: row.id,
      code: row.code,
      offerId: row.offer_id,
      affiliateId: row.affiliate_id,
      advertiserId: row.advertiser_id,
      channel: row.channel,
      ...subValuesOf(row),
      landingUrl: offer.landingUrl,
      fallbackUrl: offer.fallbackUrl,
      attributionWindowDays: offer.attributionWindowDays,
      status: statusOf(row.archived, offer.status, affiliateStatus),
    };
  }
}
