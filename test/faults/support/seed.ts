import { DataSource } from 'typeorm';
import { dataSourceOptions } from '../../../src/database/data-source-options';
import { ENTITIES } from '../../../src/entities';
import { LedgerService } from '../../../src/modules/ledger/ledger.service';
import type { Deployment } from './deployment';
import type { EmulatorProc } from './emulator';
import { load } from './load';

export interface Payable {
  affiliateId: string;
  accountId: string;
  amount: number;
}

const CHUNK = 250;

/**
 * `count` active affiliates, each with an onboarded connected account on the emulator (created
 * through its real API) and `amount(i)` available in `currency`, credited by a ledger adjustment
 * against an advertiser's receivable through the real LedgerService. Bulk SQL for the rows,
 * so thousands take seconds.
 */
export async function seedPayableAffiliates(d: Deployment, emulator: EmulatorProc, count: number, currency: string, amount: (i: number) => number): Promise<Payable[]> {
  const {
    rows: [advertiser],
  } = await d.db.query(`INSERT INTO principals (role, name, email) VALUES ('advertiser', 'Seed advertiser', 'seed-' || gen_random_uuid() || '@example.test') RETURNING id`);
  const { rows } = await d.db.query<{ id: string }>(
    `INSERT INTO principals (role, name, email, status)
     SELECT 'affiliate', 'Affiliate ' || n, 'aff-' || n || '-' || gen_random_uuid() || '@example.test', 'active' FROM generate_series(1, $1) n RETURNING id`,
    [count],
  );
  const accounts = await load(rows.length, 16, (i) => emulator.account(rows[i].id));
  await d.db.query(
    `INSERT INTO payout_accounts (affiliate_id, stripe_account_id, payouts_enabled, details_submitted)
     SELECT * , true, true FROM unnest($1::uuid[], $2::text[])`,
    [rows.map((r) => r.id), accounts],
  );
  const payables = rows.map((r, i) => ({ affiliateId: r.id, accountId: accounts[i], amount: amount(i) }));
  const dataSource = await new DataSource(dataSourceOptions(d.databaseUrl, 2, ENTITIES)).initialize();
  try {
    const ledger = new LedgerService(dataSource);
    for (let i = 0; i < payables.length; i += CHUNK) {
      await dataSource.transaction(async (manager) => {
        for (const p of payables.slice(i, i + CHUNK)) {
          await ledger.post(manager, {
            kind: 'adjustment',
            causeType: 'adjustment',
            causeId: `seed-${p.affiliateId}`,
            memo: 'seeded balance',
            lines: [
              { account: { type: 'advertiser_receivable', ownerId: advertiser.id, currency }, amount: p.amount },
              { account: { type: 'affiliate_available', ownerId: p.affiliateId, currency }, amount: -p.amount },
            ],
          });
        }
      });
    }
  } finally {
    await dataSource.destroy();
  }
  return payables;
}
