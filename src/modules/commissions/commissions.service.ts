import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { OutboxService } from '../../queue/outbox/outbox.service';
import { Conversion } from '../conversions/conversion.entity';
import { ConversionEvent } from '../conversions/conversion-event.entity';
import { ConversionsService } from '../conversions/conversions.service';
import { LedgerService } from '../ledger/ledger.service';
import { approvalLines, commissionLines, CommissionAmounts, LEDGER_KINDS, reversalLines, ReversibleStatus } from '../ledger/ledger.postings';

const CAUSE = 'conversion' as const;

/**
 * Brings the ledger in line with a conversion's status. It looks at what is already posted
 * (entries are unique per cause and kind), so it can run any number of times, in any order,
 * after a crash half-way, and post each movement once.
 */
@Injectable()
export class CommissionsService {
  private readonly logger = new Logger(CommissionsService.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly ledger: LedgerService,
    private readonly conversions: ConversionsService,
    private readonly outbox: OutboxService,
  ) {}

  async reconcile(conversionId: string): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      const conversion = await manager.findOne(Conversion, { where: { id: conversionId }, lock: { mode: 'pessimistic_write' } });
      if (!conversion) {
        this.logger.warn(`conversion ${conversionId} not found; nothing to post`);
        return;
      }
      await this.reconcileLocked(manager, conversion);
    });
  }

  /** The same, for a conversion the caller has locked in its own transaction. */
  async reconcileLocked(manager: EntityManager, conversion: Conversion): Promise<void> {
    if (!conversion.affiliateId || !conversion.currency) return; // unattributed: nothing earned
    const amounts: CommissionAmounts = {
      affiliateId: conversion.affiliateId,
      advertiserId: conversion.advertiserId,
      currency: conversion.currency,
      revenue: conversion.revenue,
      payout: conversion.payout,
    };
    const has = (kind: string) => this.ledger.hasEntry(manager, CAUSE, conversion.id, kind);
    const post = (kind: string, lines: ReturnType<typeof commissionLines>) =>
      lines.length ? this.ledger.post(manager, { kind, causeType: CAUSE, causeId: conversion.id, lines, memo: `${conversion.goalKey} ${conversion.txnId}` }) : undefined;

    const status = conversion.status;
    if (status === 'pending' || status === 'approved' || status === 'paid') {
      if (!(await has(LEDGER_KINDS.commission))) await post(LEDGER_KINDS.commission, commissionLines(amounts));
      if (status !== 'pending' && !(await has(LEDGER_KINDS.approval))) await post(LEDGER_KINDS.approval, approvalLines(amounts));
      return;
    }
    if ((status === 'rejected' || status === 'reversed') && (await has(LEDGER_KINDS.commission)) && !(await has(LEDGER_KINDS.reversal))) {
      // Undo from wherever the payout sits: paid out → clawback; approved (posted) → available; else pending.
      const from: ReversibleStatus = (await this.statusBeforeEnd(manager, conversion.id)) === 'paid' ? 'paid' : (await has(LEDGER_KINDS.approval)) ? 'approved' : 'pending';
      await post(LEDGER_KINDS.reversal, reversalLines(amounts, from));
    }
  }

  /**
   * Approves pending conversions whose lock period is over, in batches; each approval and its
   * ledger entry are written together. Returns how many were approved.
   */
  async approveDue(batchSize = 500, now = new Date()): Promise<number> {
    let total = 0;
    for (;;) {
      const approved = await this.dataSource.transaction(async (manager) => {
        const due: Conversion[] = await manager
          .createQueryBuilder(Conversion, 'c')
          .setLock('pessimistic_write')
          .setOnLocked('skip_locked')
          .where("c.status = 'pending' AND c.approve_after <= :now", { now })
          .orderBy('c.approve_after')
          .limit(batchSize)
          .getMany();
        for (const conversion of due) {
          const updated = await this.conversions.applyTransition(manager, conversion, 'approved', { type: 'system', id: null }, 'lock period over');
          await this.reconcileLocked(manager, updated);
        }
        return due.length;
      });
      total += approved;
      if (approved > 0) this.outbox.notify();
      if (approved < batchSize) break;
    }
    if (total) this.logger.log(`approved ${total} conversion(s) past their lock period`);
    return total;
  }

  /** The status a conversion had when it was rejected or reversed. */
  private async statusBeforeEnd(manager: EntityManager, conversionId: string): Promise<string | null> {
    const event = await manager.findOne(ConversionEvent, { where: [{ conversionId, toStatus: 'reversed' }, { conversionId, toStatus: 'rejected' }], order: { id: 'DESC' } });
    return event?.fromStatus ?? null;
  }
}
