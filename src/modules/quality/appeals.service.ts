import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, In } from 'typeorm';
import { AuthPrincipal } from '../../common/auth';
import { OutboxService } from '../../queue/outbox/outbox.service';
import { Conversion } from '../conversions/conversion.entity';
import { ConversionsError } from '../conversions/conversions.errors';
import { conversionsRepository } from '../conversions/conversions.repository';
import { ConversionsService, scopeWhere } from '../conversions/conversions.service';
import { RejectionReason } from '../conversions/conversions.errors';
import { ConversionAppeal } from './appeal.entity';
import { AppealDecision } from './dto/quality.dto';
import { QualityError } from './quality.errors';

/** A conversion its affiliate may appeal: held for review, or rejected. */
const appealable = (c: Conversion) => (c.status === 'pending' && c.hold === 'review') || c.status === 'rejected';

/**
 * Appeals (README, "Traffic quality"): an affiliate appeals a held or rejected conversion with a
 * message; the advertiser (or an admin) approves or rejects with one. Each step is an event of the
 * conversion; an approval moves it through the lifecycle, which posts its commission.
 */
@Injectable()
export class AppealsService {
  private readonly logger = new Logger(AppealsService.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly conversions: ConversionsService,
    private readonly outbox: OutboxService,
  ) {}

  async open(actor: AuthPrincipal, conversionId: string, message: string): Promise<ConversionAppeal> {
    return this.dataSource.transaction(async (manager) => {
      const conversion = await this.lockVisible(manager, actor, conversionId);
      if (!appealable(conversion)) throw QualityError.notAppealable(conversion.hold ? `${conversion.status} (${conversion.hold})` : conversion.status);
      const open = await manager.findOneBy(ConversionAppeal, { conversionId, status: 'open' });
      if (open) throw QualityError.appealOpen();
      const appeal = await manager.save(manager.create(ConversionAppeal, { conversionId, affiliateId: actor.id, status: 'open', message }));
      await this.event(manager, conversion, actor, `appeal opened: ${message}`);
      this.logger.log(`appeal ${appeal.id} opened on conversion ${conversionId}`);
      return appeal;
    });
  }

  async list(actor: AuthPrincipal, conversionId: string): Promise<ConversionAppeal[]> {
    await this.conversions.get(conversionId, actor);
    return this.dataSource.getRepository(ConversionAppeal).find({ where: { conversionId }, order: { createdAt: 'ASC' } });
  }

  /** Open appeals on conversions `actor` may see, oldest first (the portal's review page). */
  async openAppeals(actor: AuthPrincipal, limit = 100): Promise<ConversionAppeal[]> {
    const scope = actor.role === 'advertiser' ? 'c.advertiser_id = $2' : actor.role === 'affiliate' ? 'c.affiliate_id = $2' : '$2::uuid IS NULL';
    const ids: { id: string }[] = await this.dataSource.query(
      `SELECT a.id FROM conversion_appeals a JOIN conversions c ON c.id = a.conversion_id
        WHERE a.status = 'open' AND ${scope} ORDER BY a.created_at LIMIT $1`,
      [limit, actor.role === 'advertiser' || actor.role === 'affiliate' ? actor.id : null],
    );
    return ids.length ? this.dataSource.getRepository(ConversionAppeal).find({ where: { id: In(ids.map((r) => r.id)) }, order: { createdAt: 'ASC' } }) : [];
  }

  /** The latest appeal of each of these conversions (the portal's badges). */
  async latestOf(conversionIds: string[]): Promise<Map<string, ConversionAppeal>> {
    if (conversionIds.length === 0) return new Map();
    const all = await this.dataSource.getRepository(ConversionAppeal).find({ where: { conversionId: In(conversionIds) }, order: { createdAt: 'ASC' } });
    return new Map(all.map((a) => [a.conversionId, a]));
  }

  async resolve(
    actor: AuthPrincipal,
    conversionId: string,
    appealId: string,
    decision: AppealDecision,
    message: string,
  ): Promise<{ appeal: ConversionAppeal; conversion: Conversion }> {
    const result = await this.dataSource.transaction(async (manager) => {
      let conversion = await this.lockVisible(manager, actor, conversionId);
      const appeal = await manager.findOneBy(ConversionAppeal, { id: appealId, conversionId });
      if (!appeal) throw QualityError.appealNotFound();
      if (appeal.status !== 'open') throw QualityError.appealClosed(appeal.status);
      const by = { type: 'principal' as const, id: actor.id };
      if (decision === 'approve') {
        conversion = await this.conversions.applyTransition(manager, conversion, 'approved', by, `appeal approved: ${message}`, { appeal: true });
      } else {
        if (conversion.status === 'pending') conversion = await this.conversions.applyTransition(manager, conversion, 'rejected', by, RejectionReason.Risk);
        await this.event(manager, conversion, actor, `appeal rejected: ${message}`);
      }
      Object.assign(appeal, { status: decision === 'approve' ? 'approved' : 'rejected', resolution: message, resolvedBy: actor.id, resolvedAt: new Date() });
      await manager.save(appeal);
      return { appeal, conversion };
    });
    this.outbox.notify();
    return result;
  }

  /** The conversion locked, if `actor` may see it; another principal's is a 404, as an unknown one. */
  private async lockVisible(manager: EntityManager, actor: AuthPrincipal, id: string): Promise<Conversion> {
    const conversion = await conversionsRepository.lockOne(manager, { id, ...scopeWhere(actor) });
    if (!conversion) throw ConversionsError.notFound();
    return conversion;
  }

  private event(manager: EntityManager, conversion: Conversion, actor: AuthPrincipal, reason: string) {
    return conversionsRepository.addEvent(manager, {
      conversionId: conversion.id,
      from: conversion.status,
      to: conversion.status,
      actorType: 'principal',
      actorId: actor.id,
      reason,
    });
  }
}
