import { ApiClient } from '../../src/demo/demo-client';
import { runPrograms } from '../../src/demo/programs';
import { createTestApp, TestApp } from '../support/create-test-app';
import { drainQueues } from '../support/drain';
import { expectLedgerVerified } from '../support/ledger';

/** The demo's commission-programs part (`npm run demo`), run against a test app: it must go through and leave a verified ledger. */
describe('the demo of the commission programs', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ workers: true, listen: true });
  });
  afterAll(() => t.close());

  it('shows tiers, a bonus, renewals and a prepaid advertiser running dry and topped up', async () => {
    const lines: string[] = [];
    const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    try {
      const api = new ApiClient(t.baseUrl);
      await runPrograms(api, api.as(t.adminKey), () => drainQueues(t));
    } finally {
      write.mockRestore();
    }
    const text = lines.join('');
    expect(text).toContain('subscription 4 (cus_4): approved, partner earns 10.00 USD at tier 2 (3 before it this month)');
    expect(text).toContain('bonus: 25.00 USD earned');
    expect(text).toMatch(/available 0\.00 USD: the offer is paused \(funds\)/);
    expect(text).toContain('renewal 1 of cus_1 (no click, no coupon): attributed by customer, pending (awaiting_funds)');
    expect(text).toMatch(/after the top-up: renewal \w+ approved, partner earns 10\.00 USD \(tier 2\)/);
    expect(text).toMatch(/the offer is active again/);
    await drainQueues(t);
    await expectLedgerVerified(t);
  });
});
