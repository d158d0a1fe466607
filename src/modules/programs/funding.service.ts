import { HttpStatus, Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { createTransport, Transporter } from 'nodemailer';
import { DataSource } from 'typeorm';
import { AuthPrincipal, isStaff } from '../../common/auth';
import { AppError, invalidField } from '../../common/errors';
import { Config } from '../../config/configuration';
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

  /** Finance records a top-up; a currency the advertiser has no offer in is refused (nothing posted). */
  async topUp(actor: AuthPrincipal, advertiserId: string, dto: CreateFundingDto): Promise<{ funding: AdvertiserFunding; balance: FundingBalance }> {
    const advertiser = await this.advertiser(advertiserId);
    if (advertiser.billingMode !== 'prepaid') throw invalidField('billingMode', 'the advertiser is billed by invoice: set billingMode prepaid first', 'not_prepaid');
    if (!(await this.offers.currenciesOf(advertiser.id)).includes(dto.currency)) throw invalidField('currency', `the advertiser has no offer in ${dto.currency}`);
    const funding = await this.dataSource.transaction(async (manager) => {
      const saved = await manager.save(
        AdvertiserFunding,
        manager.create(AdvertiserFunding, { advertiserId: advertiser.id, amount: dto.amount, currency: dto.currency, reference: dto.reference, createdBy: actor.id }),
      );
      await this.ledger.post(manager, {
        kind: LEDGER_KINDS.funding,
        causeType: 'funding',
        causeId: saved.id,
        memo: dto.reference,
        createdBy: actor.id,
        lines: fundingLines({ advertiserId: advertiser.id, currency: dto.currency }, dto.amount),
      });
      return saved;
    });
    this.logger.log(`advertiser ${advertiser.id} funded ${dto.amount} ${dto.currency} (${dto.reference})`);
    await this.settle(advertiser.id, dto.currency);
    const balance = (await this.ledger.funding(advertiser.id)).find((b) => b.currency === dto.currency) as FundingBalance;
    return { funding, balance };
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
