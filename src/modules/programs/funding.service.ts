import { HttpStatus, Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { createTransport, Transporter } from 'nodemailer';
import Stripe from 'stripe';
import { DataSource, EntityManager } from 'typeorm';
import { AuthPrincipal, isStaff } from '../../common/auth';
import { AppError, invalidField } from '../../common/errors';
import { Config } from '../../config/configuration';
import { StripeClient } from '../../integrations/stripe/stripe.client';
import { isStripeCurrency, toStripeAmount } from '../../integrations/stripe/stripe-amounts';
import { updateReturning } from '../../database/sql';
import { OutboxService } from '../../queue/outbox/outbox.service';
import { PrincipalsService } from '../principals/principals.service';
import { Principal } from '../principals/principal.entity';
import { ConversionsService } from '../conversions/conversions.service';
import { conversionsRepository } from '../conversions/conversions.repository';
import { fundingLines, LEDGER_KINDS } from '../ledger/ledger.postings';
import { FundingBalance, LedgerService } from '../ledger/ledger.service';
import { OffersService } from '../offers/offers.service';
import { AdvertiserFunding } from './funding.entities';
import { CreateFundingDto, FundingView, UpdateAdvertiserDto } from './dto/funding.dto';

const notFound = () => new AppError('advertiser_not_found', HttpStatus.NOT_FOUND, 'No such advertiser');

/**
 * Prepaid advertisers: top-ups, the funding balances (from the ledger), and what follows a
 * change of the funds (`settle`): conversions waiting for funds covered oldest first, the
 * advertiser's offers paused at available ≤ 0 and resumed above it, the low-balance alert sent
 * once per fall (e-mail through SMTP_URL, and an outbox row `webhook.dispatch` for the
 * advertiser's webhook endpoints).
 */
@Injectable()
export class FundingService {
  private readonly logger = new Logger(FundingService.name);
  private readonly mail: Transporter | null;
  private readonly from: string;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly accounts: PrincipalsService,
    private readonly ledger: LedgerService,
    private readonly offers: OffersService,
    private readonly conversions: ConversionsService,
    private readonly outbox: OutboxService,
    private readonly stripe: StripeClient,
    config: ConfigService<Config, true>,
  ) {
    const { smtpUrl } = config.get('portal', { infer: true });
    this.mail = smtpUrl ? createTransport(smtpUrl) : null;
    this.from = `Afflux <no-reply@${new URL(config.get('app', { infer: true }).publicBaseUrl).hostname}>`;
  }

  /** Admin: how an advertiser pays, and its alert; then its offers and holds follow the new mode. */
  async update(id: string, dto: UpdateAdvertiserDto): Promise<Principal> {
    const advertiser = await this.accounts.updateAdvertiserBilling(id, dto).catch((error) => {
      if (error instanceof AppError && error.status === HttpStatus.NOT_FOUND) throw notFound();
      throw error;
    });
    for (const currency of await this.offers.currenciesOf(advertiser.id)) await this.settle(advertiser.id, currency);
    return advertiser;
  }

  /**
   * Finance records a top-up (posted at once), or bills it through a Stripe invoice (pending until
   * Stripe reports it paid: `invoicePaid`). A currency the advertiser has no offer in is refused
   * (nothing posted).
   */
  async topUp(actor: AuthPrincipal, advertiserId: string, dto: CreateFundingDto): Promise<{ funding: AdvertiserFunding; balance: FundingBalance }> {
    const advertiser = await this.advertiser(advertiserId);
    if (advertiser.billingMode !== 'prepaid') throw invalidField('billingMode', 'the advertiser is billed by invoice: set billingMode prepaid first', 'not_prepaid');
    if (!(await this.offers.currenciesOf(advertiser.id)).includes(dto.currency)) throw invalidField('currency', `the advertiser has no offer in ${dto.currency}`);
    const funding = dto.via === 'stripe_invoice' ? await this.invoiceTopUp(actor, advertiser, dto) : await this.recordTopUp(actor, advertiser.id, dto);
    const balance = (await this.ledger.funding(advertiser.id)).find((b) => b.currency === dto.currency) ?? {
      currency: dto.currency,
      funded: 0,
      reserved: 0,
      spent: 0,
      available: 0,
    };
    return { funding, balance };
  }

  private async recordTopUp(actor: AuthPrincipal, advertiserId: string, dto: CreateFundingDto): Promise<AdvertiserFunding> {
    const funding = await this.dataSource.transaction(async (manager) => {
      const saved = await manager.save(
        AdvertiserFunding,
        manager.create(AdvertiserFunding, {
          advertiserId,
          amount: dto.amount,
          currency: dto.currency,
          reference: dto.reference,
          createdBy: actor.id,
          status: 'posted',
          postedAt: new Date(),
        }),
      );
      await this.postFunding(manager, saved, actor.id);
      return saved;
    });
    this.logger.log(`advertiser ${advertiserId} funded ${dto.amount} ${dto.currency} (${dto.reference})`);
    await this.settle(advertiserId, dto.currency);
    return funding;
  }

  /** The top-up's ledger entry, the same whether finance recorded it or Stripe collected it. */
  private postFunding(manager: EntityManager, funding: Pick<AdvertiserFunding, 'id' | 'advertiserId' | 'amount' | 'currency' | 'reference'>, createdBy: string | null) {
    return this.ledger.post(manager, {
      kind: LEDGER_KINDS.funding,
      causeType: 'funding',
      causeId: funding.id,
      memo: funding.reference,
      createdBy,
      lines: fundingLines({ advertiserId: funding.advertiserId, currency: funding.currency }, Number(funding.amount)),
    });
  }

  /**
   * A top-up billed through a finalized Stripe invoice (metadata `afx_funding_id`), stored
   * pending; if Stripe fails the pending row is removed (the idempotency keys name it).
   */
  private async invoiceTopUp(actor: AuthPrincipal, advertiser: Principal, dto: CreateFundingDto): Promise<AdvertiserFunding> {
    if (!isStripeCurrency(dto.currency)) throw invalidField('currency', `Stripe cannot invoice in ${dto.currency}`);
    const { amount, remainder } = toStripeAmount(dto.amount, dto.currency);
    if (remainder !== 0 || amount <= 0) throw invalidField('amount', `Stripe cannot invoice ${dto.amount} ${dto.currency} minor units exactly`);
    const api = this.stripe.api; // the clear 503 before anything is written if Stripe is not configured
    const pending = await this.dataSource.manager.save(
      AdvertiserFunding,
      this.dataSource.manager.create(AdvertiserFunding, {
        advertiserId: advertiser.id,
        amount: dto.amount,
        currency: dto.currency,
        reference: dto.reference,
        createdBy: actor.id,
        status: 'pending',
      }),
    );
    try {
      const customer = await this.stripe.customerFor(advertiser);
      const metadata = { afx_funding_id: pending.id, advertiser_id: advertiser.id };
      const invoice = await api.invoices.create(
        {
          customer,
          currency: dto.currency.toLowerCase(),
          collection_method: 'send_invoice',
          days_until_due: 30,
          auto_advance: false,
          pending_invoice_items_behavior: 'exclude',
          metadata,
          description: `Prepaid funds: ${dto.reference}`,
        },
        { idempotencyKey: `afx-funding-invoice-${pending.id}` },
      );
      await api.invoiceItems.create(
        { customer, invoice: invoice.id, amount, currency: dto.currency.toLowerCase(), description: `Prepaid funds (${dto.reference})`, metadata },
        { idempotencyKey: `afx-funding-invoice-item-${pending.id}` },
      );
      const finalized = await api.invoices.finalizeInvoice(invoice.id as string, {}, { idempotencyKey: `afx-funding-invoice-finalize-${pending.id}` });
      pending.stripeInvoiceId = finalized.id as string;
      pending.hostedInvoiceUrl = finalized.hosted_invoice_url ?? null;
      await this.dataSource.manager.update(
        AdvertiserFunding,
        { id: pending.id, status: 'pending' },
        { stripeInvoiceId: pending.stripeInvoiceId, hostedInvoiceUrl: pending.hostedInvoiceUrl },
      );
    } catch (error) {
      await this.dataSource.manager.delete(AdvertiserFunding, { id: pending.id, status: 'pending' });
      throw error;
    }
    this.logger.log(`advertiser ${advertiser.id}: top-up ${pending.id} of ${dto.amount} ${dto.currency} invoiced as ${pending.stripeInvoiceId}`);
    return pending;
  }

  /**
   * Stripe's `invoice.paid` for a top-up's invoice (billing routes it here, in the event's
   * transaction): posted once, then the funding job covers what waits and resumes the offers.
   */
  async invoicePaid(manager: EntityManager, invoice: Stripe.Invoice): Promise<string> {
    const id = invoice.metadata?.afx_funding_id ?? '';
    const rows = await updateReturning<{ id: string; advertiser_id: string; amount: string; currency: string; reference: string }>(
      manager,
      `UPDATE advertiser_fundings SET status = 'posted', posted_at = now(), stripe_invoice_id = $2
        WHERE id::text = $1 AND status = 'pending' AND (stripe_invoice_id IS NULL OR stripe_invoice_id = $2)
        RETURNING id, advertiser_id, amount::text AS amount, currency, reference`,
      [id, invoice.id],
    );
    if (!rows.length) return `top-up ${id}: unknown or already posted`;
    const row = rows[0];
    await this.postFunding(manager, { id: row.id, advertiserId: row.advertiser_id, amount: Number(row.amount), currency: row.currency, reference: row.reference }, null);
    await this.outbox.enqueue(manager, 'funding.check', `${row.advertiser_id}:${row.currency}`);
    return `top-up ${row.id} posted: ${row.amount} ${row.currency}`;
  }

  /** The funding balances: an advertiser its own (another's is a 404), finance and admin any. */
  async view(actor: AuthPrincipal, advertiserId: string): Promise<FundingView> {
    if (!isStaff(actor) && actor.id !== advertiserId.toLowerCase()) throw notFound();
    const advertiser = await this.advertiser(advertiserId);
    const n = await conversionsRepository.countAwaitingFunds(this.dataSource.manager, advertiser.id);
    return {
      advertiserId: advertiser.id,
      billingMode: advertiser.billingMode,
      lowBalanceAlert: advertiser.lowBalanceAlert,
      balances: await this.ledger.funding(advertiser.id),
      awaitingFunds: n,
    };
  }

  /**
   * Brings everything that follows the funds of (advertiser, currency) in line with them; safe to
   * repeat (the funding job runs it after conversions that ran the funds low or waited).
   */
  async settle(advertiserId: string, currency: string): Promise<void> {
    const advertiser = await this.advertiser(advertiserId);
    if (advertiser.billingMode !== 'prepaid') {
      await this.offers.setFundsPause(advertiser.id, currency, false);
      await this.dataSource.query(`DELETE FROM funding_alerts WHERE advertiser_id = $1 AND currency = $2`, [advertiser.id, currency]);
      return;
    }
    const covered = await this.conversions.coverHeld(advertiser.id, currency);
    if (covered) this.logger.log(`advertiser ${advertiser.id}: ${covered} conversion(s) covered by funds`);
    const available = (await this.ledger.funding(advertiser.id)).find((b) => b.currency === currency)?.available ?? 0;
    const changed = await this.offers.setFundsPause(advertiser.id, currency, available <= 0);
    if (changed.length) this.logger.log(`advertiser ${advertiser.id} ${currency}: offers ${available <= 0 ? 'paused (funds)' : 'resumed'}: ${changed.join(', ')}`);
    await this.alert(advertiser, currency, available);
  }

  /** The low-balance alert, once per fall below the threshold (forgotten once the funds recover). */
  private async alert(advertiser: Principal, currency: string, available: number): Promise<void> {
    const threshold = advertiser.lowBalanceAlert;
    if (threshold === null || available > threshold) {
      await this.dataSource.query(`DELETE FROM funding_alerts WHERE advertiser_id = $1 AND currency = $2`, [advertiser.id, currency]);
      return;
    }
    const data = { advertiserId: advertiser.id, currency, available, threshold };
    const sent = await this.dataSource.transaction(async (manager) => {
      const inserted: { created_at: string }[] = await manager.query(
        `INSERT INTO funding_alerts (advertiser_id, currency, available) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING created_at::text`,
        [advertiser.id, currency, available],
      );
      if (!inserted.length) return false;
      // The advertiser's webhook endpoints (the webhooks feature consumes the topic); the key names
      // this fall, so the next fall below the threshold is an event of its own.
      const key = `${advertiser.id}:${currency}:${inserted[0].created_at}`;
      await this.outbox.enqueue(manager, 'webhook.dispatch', key, { principalId: advertiser.id, type: 'funding.low', data });
      return true;
    });
    if (!sent) return;
    this.outbox.notify();
    await this.sendMail(advertiser, data);
  }

  private async sendMail(advertiser: Principal, data: { currency: string; available: number; threshold: number }): Promise<void> {
    const text = `The prepaid funds of ${advertiser.name} in ${data.currency} are down to ${data.available} minor units (alert at ${data.threshold}). At zero its offers pause until a top-up.`;
    if (!this.mail) {
      this.logger.warn(`funding.low for advertiser ${advertiser.id} (no SMTP_URL, not mailed): ${text}`);
      return;
    }
    try {
      await this.mail.sendMail({ from: this.from, to: advertiser.email, subject: `Afflux: prepaid funds low (${data.currency})`, text });
    } catch (error) {
      this.logger.warn(`funding.low mail to advertiser ${advertiser.id} not sent: ${(error as Error).message}`);
    }
  }

  private async advertiser(id: string): Promise<Principal> {
    return this.accounts.getPrincipal(id.toLowerCase(), 'advertiser').catch((error) => {
      if (error instanceof AppError && error.status === HttpStatus.NOT_FOUND) throw notFound();
      throw error;
    });
  }
}
