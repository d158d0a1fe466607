import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomBytes } from 'node:crypto';
import { DataSource, QueryFailedError } from 'typeorm';
import { AuthPrincipal } from '../../common/auth';
import { Page } from '../../common/pagination';
import { UUID_PATTERN } from '../../common/validation/validators';
import { Config } from '../../config/configuration';
import { AffiliateOffersService } from './affiliate-offers.service';
import type { ClickStatus } from './click.entity';
import { CreateLinkDto, ListLinksQueryDto } from './dto/links.dto';
import { TrackingError } from './tracking.errors';
import { Channel, SubValues, subValuesOf, TrackingLink } from './tracking-link.entity';
import { ResolvedLinkRow, trackingRepository } from './tracking.repository';
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

function statusOf(row: ResolvedLinkRow): ClickStatus {
  if (row.archived) return 'link_archived';
  if (row.offer_status === 'archived') return 'offer_archived';
  if (row.offer_status === 'paused') return 'offer_paused';
  if (row.affiliate_status !== 'active') return 'affiliate_suspended';
  return 'ok';
}

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
    for (let attempt = 1; ; attempt++) {
      try {
        const link = await trackingRepository.insertLink(this.dataSource.manager, {
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
        });
        this.logger.log(`link ${link.id} (${link.code}) created by affiliate ${actor.id} for offer ${offer.id}`);
        return link;
      } catch (error) {
        const collided = error instanceof QueryFailedError && (error as unknown as { constraint?: string }).constraint === 'tracking_links_code_key';
        if (!collided || attempt >= CODE_ATTEMPTS) throw error;
      }
    }
  }

  list(actor: AuthPrincipal, query: ListLinksQueryDto): Promise<Page<TrackingLink>> {
    return trackingRepository.listLinks(this.dataSource.manager, actor, { offer_id: query.offerId, affiliate_id: query.affiliateId }, query);
  }

  /** A link `actor` may see; 404 otherwise. */
  async get(actor: AuthPrincipal, id: string): Promise<TrackingLink> {
    const link = await trackingRepository.findLink(this.dataSource.manager, actor, id);
    if (!link) throw TrackingError.linkNotFound();
    return link;
  }

  /** Archives a link: its clicks go to the offer's fallback URL from then on (within the cache lifetime elsewhere). */
  async archive(actor: AuthPrincipal, id: string): Promise<TrackingLink> {
    const link = await this.get(actor, id);
    if (!link.archivedAt) {
      link.archivedAt = new Date();
      await trackingRepository.archiveLink(this.dataSource.manager, link.id, link.archivedAt);
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
    const row = await trackingRepository.resolveLink(this.dataSource.manager, by, value);
    if (!row) return null;
    return {
      linkId: row.id,
      code: row.code,
      offerId: row.offer_id,
      affiliateId: row.affiliate_id,
      advertiserId: row.advertiser_id,
      channel: row.channel,
      ...subValuesOf(row),
      landingUrl: row.landing_url,
      fallbackUrl: row.fallback_url,
      attributionWindowDays: row.attribution_window_days,
      status: statusOf(row),
    };
  }
}
