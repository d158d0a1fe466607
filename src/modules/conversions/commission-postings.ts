import { Injectable, Module } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import type { Conversion } from './conversion.entity';
import { ConversionPostingRow, conversionsRepository } from './conversions.repository';
import { LedgerModule } from '../ledger/ledger.module';
import { ledgerRepository } from '../ledger/ledger.repository';
import { availableKey, LedgerService, toMinor } from '../ledger/ledger.service';
import {
  approvalLines,
  commissionLines,
  CommissionAmounts,
  FundingMove,
  fundingMoveLines,
  LEDGER_KINDS,
  PostingInput,
  PostingLine,
  reversalLines,
  ReversibleStatus,
} from '../ledger/ledger.postings';

const CAUSE = 'conversion' as const;

/** What the ledger postings of a conversion depend on. */
export type CommissionFacts = Pick<Conversion, 'id' | 'advertiserId' | 'affiliateId' | 'currency' | 'revenue' | 'payout' | 'status' | 'goalKey' | 'txnId'>;

/** The facts of a row locked by `ConversionsRepository.lockForPosting`. */
export const postingFacts = (r: ConversionPostingRow): CommissionFacts => ({
  id: r.id,
  advertiserId: r.advertiser_id,
  affiliateId: r.affiliate_id,
  currency: r.currency,
  revenue: toMinor(r.revenue),
  payout: toMinor(r.payout),
  status: r.status,
  goalKey: r.goal_key,
  txnId: r.txn_id,
});

/**
 * What a conversion's status means in the ledger, posted inside the transaction that holds the
 * conversion's lock. The conversion lifecycle calls it in the very transaction that changes the
 * status (ConversionsService.applyTransition), and the commission jobs for what was recorded
 * without it; so a payout run never sees a status without its entry, nor an entry without its
 * status. It lives in its own small module that needs only the ledger, beside the conversions (the
 * commissions module, which depends on conversions, imports it from here).
 */
@Injectable()
export class CommissionPostings {
  constructor(private readonly ledger: LedgerService) {}

  /** Reserves a prepaid conversion's revenue out of its advertiser's funds (locked by the caller, after the conversion). */
  async reserve(manager: EntityManager, conversion: Pick<CommissionFacts, 'id' | 'advertiserId' | 'currency' | 'revenue' | 'goalKey' | 'txnId'>): Promise<void> {
    await this.ledger.post(manager, fundingPosting(conversion, LEDGER_KINDS.fundingReserve));
  }

  /** Posts what each conversion (locked by the caller, attributed or not) misses for its status. */
  async postMissingLocked(manager: EntityManager, conversions: CommissionFacts[]): Promise<void> {
    const attributed = conversions.filter((c) => c.affiliateId && c.currency); // unattributed: nothing earned
    if (!attributed.length) return;
    const ids = attributed.map((c) => c.id);
    const posted = await ledgerRepository.postedKinds(manager, CAUSE, ids);
    const ended = attributed.filter((c) => c.status === 'rejected' || c.status === 'reversed').map((c) => c.id);
    const before = ended.length ? await conversionsRepository.statusesBeforeEnd(manager, ended) : new Map<string, string>();
    const facts = attributed.map((c) => ({ c, posted: posted.get(c.id) ?? new Set<string>(), before: before.get(c.id) ?? null }));
    const cover = facts.some((f) => reversalSource(f.c, f.posted, f.before) === 'approved') ? await this.availableCover(manager, facts) : undefined;
    const postings = facts.flatMap((f) => missingPostings(f.c, f.posted, f.before, cover));
    if (postings.length) await this.ledger.postMany(manager, postings);
  }

  /**
   * A reversal from approved takes the payout back out of available, which may no longer hold
   * it: the affiliates' accounts are locked (all of them, in one statement: the lock order) and
   * their available balances, plus what this batch approves, cover the reversals in turn.
   */
  private async availableCover(manager: EntityManager, facts: { c: CommissionFacts; posted: ReadonlySet<string> }[]): Promise<AvailableCover> {
    const available = await this.ledger.lockAffiliateAccounts(
      manager,
      facts.map((f) => f.c.affiliateId as string),
    );
    for (const { c, posted } of facts) {
      if ((c.status === 'approved' || c.status === 'paid') && !posted.has(LEDGER_KINDS.approval)) {
        const key = availableKey(c.affiliateId as string, c.currency as string);
        available.set(key, (available.get(key) ?? 0) + c.payout);
      }
    }
    return (affiliateId, currency, wanted) => {
      const key = availableKey(affiliateId, currency);
      const has = available.get(key) ?? 0;
      const taken = Math.min(has, wanted);
      available.set(key, has - taken);
      return taken;
    };
  }
}

/** How much of `wanted` an affiliate's available balance still covers (and takes it). */
export type AvailableCover = (affiliateId: string, currency: string, wanted: number) => number;

/** Where a reversal of this conversion takes the payout from, or null when it needs no reversal. */
function reversalSource(conversion: CommissionFacts, posted: ReadonlySet<string>, statusBeforeEnd: string | null): ReversibleStatus | null {
  const ended = conversion.status === 'rejected' || conversion.status === 'reversed';
  if (!ended || !posted.has(LEDGER_KINDS.commission) || posted.has(LEDGER_KINDS.reversal)) return null;
  // Undo from wherever the payout sits: paid out → clawback; approved (posted) → available; else pending.
  return statusBeforeEnd === 'paid' ? 'paid' : posted.has(LEDGER_KINDS.approval) ? 'approved' : 'pending';
}

/**
 * The entries an attributed conversion misses for its status, given the kinds already posted
 * for it and the status it had before it was rejected or reversed (if it was). `cover` says how
 * much of a reversal from approved the available balance still holds (all of it when absent).
 */
export function missingPostings(conversion: CommissionFacts, posted: ReadonlySet<string>, statusBeforeEnd: string | null, cover?: AvailableCover): PostingInput[] {
  const amounts: CommissionAmounts = {
    affiliateId: conversion.affiliateId as string,
    advertiserId: conversion.advertiserId,
    currency: conversion.currency as string,
    revenue: conversion.revenue,
    payout: conversion.payout,
  };
  const postings: PostingInput[] = [];
  const post = (kind: string, lines: PostingLine[]) => {
    if (lines.length) postings.push({ kind, causeType: CAUSE, causeId: conversion.id, lines, memo: `${conversion.goalKey} ${conversion.txnId}` });
  };
  const status = conversion.status;
  // A prepaid conversion whose revenue was reserved: spent when approved, given back when it ends.
  const reserved = posted.has(LEDGER_KINDS.fundingReserve);
  if (status === 'pending' || status === 'approved' || status === 'paid') {
    if (!posted.has(LEDGER_KINDS.commission)) post(LEDGER_KINDS.commission, commissionLines(amounts));
    if (status !== 'pending' && !posted.has(LEDGER_KINDS.approval)) post(LEDGER_KINDS.approval, approvalLines(amounts));
    if (status !== 'pending' && reserved && !posted.has(LEDGER_KINDS.fundingSpend)) postings.push(fundingPosting(conversion, LEDGER_KINDS.fundingSpend));
    return postings;
  }
  if (reserved) {
    const back: FundingMove = posted.has(LEDGER_KINDS.fundingSpend) ? LEDGER_KINDS.fundingRefund : LEDGER_KINDS.fundingRelease;
    if (!posted.has(back)) postings.push(fundingPosting(conversion, back));
  }
  const from = reversalSource(conversion, posted, statusBeforeEnd);
  if (from) {
    const covered = from === 'approved' && cover ? cover(amounts.affiliateId, amounts.currency, amounts.payout) : Infinity;
    post(LEDGER_KINDS.reversal, reversalLines(amounts, from, covered));
  }
  return postings;
}

/** A prepaid conversion's move between its advertiser's funds, reserve and receivable. */
function fundingPosting(conversion: Pick<CommissionFacts, 'id' | 'advertiserId' | 'currency' | 'revenue' | 'goalKey' | 'txnId'>, move: FundingMove): PostingInput {
  return {
    kind: move,
    causeType: CAUSE,
    causeId: conversion.id,
    memo: `${conversion.goalKey} ${conversion.txnId}`,
    lines: fundingMoveLines(move, { advertiserId: conversion.advertiserId, currency: conversion.currency as string }, conversion.revenue),
  };
}

@Module({
  imports: [LedgerModule],
  providers: [CommissionPostings],
  exports: [CommissionPostings],
})
export class CommissionPostingsModule {}
