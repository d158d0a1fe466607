import fc from 'fast-check';
import { AppError } from '../../common/errors';
import { parsePostback, readPostbackParams, validatePostback } from './postback-params';

type Outcome = { ok: true; params: Record<string, unknown> } | { ok: false; error: { name: string; code: string; status: number; message: string; details: unknown } };

async function outcome(parse: () => Promise<object>): Promise<Outcome> {
  try {
    return { ok: true, params: { ...(await parse()) } };
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    return { ok: false, error: { name: error.name, code: error.code, status: error.status, message: error.message, details: error.details } };
  }
}

/** The old path: the repeated-parameter check, then the DTO and class-validator. */
async function reference(raw: Record<string, unknown>): Promise<Outcome> {
  const repeated = Object.keys(raw).filter((k) => Array.isArray(raw[k]));
  if (repeated.length) return outcome(() => parsePostback(raw));
  return outcome(() => validatePostback(raw));
}

const CLICK_ID = 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.x1';
const typical = { token: 'pbt_abcdefghijklmnopqrstuvwxyz012345', click_id: CLICK_ID, goal: 'sale', txn_id: 'ORDER-10042', amount: '49.99', currency: 'USD' };

/** Values near every rule's edges, in both directions. */
const SAMPLES: Record<string, unknown[]> = {
  token: ['', 'pbt_x', 't'.repeat(200), 't'.repeat(201), '😀'.repeat(100), '😀'.repeat(101), 5, true, null],
  advertiser_id: ['0b8c7a52-1f0e-4d3a-9a57-3f2b1c0d9e8f', '0B8C7A52-1F0E-4D3A-9A57-3F2B1C0D9E8F', 'not-a-uuid', '', 7, null],
  click_id: [CLICK_ID, '', 'c'.repeat(256), 'c'.repeat(257), '😀'.repeat(128), '😀'.repeat(200), 1, {}, null],
  coupon: ['SPRING_25', 'a-b', '', 'has space', 'x'.repeat(64), 'x'.repeat(65), 9, null],
  goal: ['sale', 'lead', 'a.b-c_d', 'Sale', '', '-x', 'x'.repeat(64), 'x'.repeat(65), 1, undefined, null],
  txn_id: ['ORDER-10042', '!~', '', 'with space', 'é', 'x'.repeat(128), 'x'.repeat(129), 12345, undefined, null],
  amount: ['49.99', '', 'abc', '1'.repeat(40), '1'.repeat(41), '😀'.repeat(21), 49.99, null],
  currency: ['USD', 'EUR', 'JPY', 'usd', 'XXX', 'constructor', '', 1, null],
  conversion_time: ['2026-03-01T23:59:00-05:00', '2026-03-01T23:59:00Z', '2026-03-01T23:59:00', '1772427540', '12', 'yesterday', '', 1772427540, null],
  customer_id: ['cust_1', 'with space ok', '', 'x'.repeat(200), 'x'.repeat(201), 'tab\there', 3, null],
  status: ['reversed', 'approved', '', 1, null],
  cb: ['1700000000', ['a', 'b']],
};

describe('parsePostback (hand-written, falling back to class-validator)', () => {
  it('reads a typical postback by hand, without class-validator', () => {
    expect(readPostbackParams({ ...typical, cachebuster: '123' })).toEqual(typical);
  });

  it('lower-cases an advertiser id as the DTO does', async () => {
    const raw = { advertiser_id: '0B8C7A52-1F0E-4D3A-9A57-3F2B1C0D9E8F', goal: 'sale', txn_id: 'T-1' };
    expect(readPostbackParams(raw)).toEqual({ ...raw, advertiser_id: raw.advertiser_id.toLowerCase() });
    expect(await outcome(() => parsePostback(raw))).toEqual(await reference(raw));
  });

  it('answers each parameter edge exactly as class-validator does (same params, or the same 400 with the same details)', async () => {
    for (const [key, values] of Object.entries(SAMPLES)) {
      for (const value of values) {
        const raw: Record<string, unknown> = { ...typical, [key]: value };
        if (value === undefined) delete raw[key];
        expect({ key, value, outcome: await outcome(() => parsePostback(raw)) }).toEqual({ key, value, outcome: await reference(raw) });
      }
    }
  });

  it('answers any mix of parameters exactly as class-validator does', async () => {
    const raws = fc.dictionary(
      fc.constantFrom(...Object.keys(SAMPLES)),
      fc.constantFrom(...Object.keys(SAMPLES)).chain((key) => fc.constantFrom(...SAMPLES[key].filter((v) => v !== undefined))),
      { maxKeys: 8 },
    );
    await fc.assert(
      fc.asyncProperty(raws, fc.boolean(), async (mix, onTypical) => {
        const raw = onTypical ? { ...typical, ...mix } : mix;
        expect(await outcome(() => parsePostback(raw))).toEqual(await reference(raw));
      }),
      { numRuns: 500 },
    );
  });

  it('refuses a repeated parameter, naming every one repeated', async () => {
    await expect(parsePostback({ ...typical, goal: ['sale', 'lead'], txn_id: ['a', 'b'] })).rejects.toMatchObject({
      code: 'validation_failed',
      details: [
        { field: 'goal', message: 'goal is given more than once' },
        { field: 'txn_id', message: 'txn_id is given more than once' },
      ],
    });
  });
});
