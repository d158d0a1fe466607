import { join } from 'node:path';
import type { FaultSpec, Transfer } from '../../support/stripe-emulator/emulator';
import { call } from './client';
import { DEV_DIST } from './env';
import { Proc } from './processes';

export const WEBHOOK_SECRET = 'whsec_faults_0123456789abcdef';
export const STRIPE_KEY = 'sk_test_faults';

/** The Stripe emulator as its own process (dist-dev/test/support/stripe-emulator/main.js, `npm run build:dev`), driven through /__emulator/. */
export class EmulatorProc extends Proc {
  url = '';

  private constructor() {
    super('stripe-emulator', process.execPath, [join(DEV_DIST, 'test/support/stripe-emulator/main.js'), '--port', '0', '--webhook-secret', WEBHOOK_SECRET], {
      PATH: process.env.PATH ?? '',
    });
  }

  static async start(): Promise<EmulatorProc> {
    const proc = new EmulatorProc();
    proc.url = /listening on (\S+)/.exec(await proc.waitForLine(/stripe emulator listening on /))?.[1] ?? '';
    return proc;
  }

  /** What the app's processes need to talk to this emulator. */
  get env(): Record<string, string> {
    return { STRIPE_SECRET_KEY: STRIPE_KEY, STRIPE_API_URL: this.url, STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET };
  }

  private async control<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await call(this.url, method, `/__emulator/${path}`, { body, timeoutMs: 120_000 });
    if (res.status >= 300) throw new Error(`emulator ${method} ${path}: ${res.status} ${res.text}`);
    return res.body as T;
  }

  transfers = () => this.control<Transfer[]>('GET', 'transfers');
  setWebhookUrl = (url: string) => this.control('POST', 'webhook-url', { url });
  injectFault = (fault: Omit<FaultSpec, 'path'> & { path: string }) => this.control('POST', 'faults', fault);
  clearFaults = () => this.control('DELETE', 'faults');
  forgetIdempotencyKeys = () => this.control('POST', 'forget-idempotency');
  completeOnboarding = (accountId: string) => this.control('POST', `accounts/${accountId}/complete-onboarding`);
  flushWebhooks = () => this.control('POST', 'flush-webhooks');

  /** A connected account through the real API, onboarded. */
  async account(affiliateId: string): Promise<string> {
    const res = await call(this.url, 'POST', '/v1/accounts', {
      headers: { authorization: `Bearer ${STRIPE_KEY}` },
      raw: { contentType: 'application/x-www-form-urlencoded', data: `type=express&metadata[affiliate_id]=${affiliateId}&capabilities[transfers][requested]=true` },
    });
    if (res.status !== 200) throw new Error(`create account: ${res.status} ${res.text}`);
    await this.completeOnboarding(res.body.id);
    return res.body.id;
  }
}
