import { entityRows } from '../../src/database/entity-rows';
import { Conversion } from '../../src/modules/conversions/conversion.entity';
import { ConversionEvent } from '../../src/modules/conversions/conversion-event.entity';
import { createTestApp, TestApp } from '../support/create-test-app';
import { createAdvertiser, PrincipalHandle } from '../support/factories';

/** src/database/entity-rows.ts against TypeORM's own loading and saving, on the real schema. */
describe('entityRows: raw rows to entities and back, from TypeORM metadata', () => {
  let t: TestApp;
  let advertiser: PrincipalHandle;

  beforeAll(async () => {
    t = await createTestApp();
    advertiser = await createAdvertiser(t);
  });
  afterAll(() => t.close());

  const draft = (txnId: string): Partial<Conversion> => ({
    advertiserId: advertiser.id,
    goalKey: 'sale',
    txnId,
    clickId: 'c-1',
    clickedAt: new Date('2026-11-30T10:11:12.345Z'),
    saleAmount: 9_007_199_254_740_991,
    currency: 'USD',
    revenue: 1234,
    payout: 0,
    revenueRule: { type: 'percent', bps: 1500 },
    payoutRule: null,
    rounding: { revenue: 'half_up' },
    status: 'unattributed',
    reason: 'no_click',
    source: 'api',
    ip: '203.0.113.7',
    userAgent: 'jest "quoted" \\ agent',
    prepaid: false,
  });

  it('inserts what TypeORM would, and reads rows back exactly as TypeORM loads them', async () => {
    const rows = entityRows(t.dataSource, Conversion);
    const { columns, placeholders, params } = rows.insertValues(draft('ER-1'), 2);
    expect(columns).not.toMatch(/"id"|created_at|updated_at/);
    expect(placeholders.startsWith('$2, $3')).toBe(true);
    const [raw] = await t.dataSource.query(`INSERT INTO conversions (${columns}) VALUES (${placeholders}) RETURNING *, $1::int AS not_a_column`, [1, ...params]);
    const mapped = rows.toEntity(raw);
    const loaded = await t.dataSource.getRepository(Conversion).findOneByOrFail({ id: raw.id });
    expect(mapped).toBeInstanceOf(Conversion);
    expect(mapped).toEqual(loaded);
    // The transformer turned bigint money into numbers; jsonb and timestamps came back typed.
    expect(mapped.saleAmount).toBe(9_007_199_254_740_991);
    expect(mapped.revenue).toBe(1234);
    expect(mapped.payoutRule).toBeNull();
    expect(mapped.revenueRule).toEqual({ type: 'percent', bps: 1500 });
    expect(mapped.clickedAt).toEqual(new Date('2026-11-30T10:11:12.345Z'));
    expect(mapped).not.toHaveProperty('not_a_column');
    expect(mapped).not.toHaveProperty('notAColumn');
  });

  it('maps another entity with its own names, and skips columns a row does not hold', async () => {
    const conversions = entityRows(t.dataSource, Conversion);
    const { columns, placeholders, params } = conversions.insertValues(draft('ER-2'));
    const [{ id }] = await t.dataSource.query(`INSERT INTO conversions (${columns}) VALUES (${placeholders}) RETURNING id`, params);
    const saved = await t.dataSource
      .getRepository(ConversionEvent)
      .save({ conversionId: id, fromStatus: null, toStatus: 'unattributed', actorType: 'system', actorId: null, reason: 'why' });
    const [row] = await t.dataSource.query(`SELECT * FROM conversion_events WHERE id = $1`, [saved.id]);
    const events = entityRows(t.dataSource, ConversionEvent);
    expect(events.toEntity(row)).toEqual(await t.dataSource.getRepository(ConversionEvent).findOneByOrFail({ id: saved.id }));
    const partial = conversions.toEntity({ id, txn_id: 'ER-2', sale_amount: null });
    expect(partial).toEqual(Object.assign(new Conversion(), { id, txnId: 'ER-2', saleAmount: null }));
  });
});
