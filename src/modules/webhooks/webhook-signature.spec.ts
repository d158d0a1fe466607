import { createHmac } from 'node:crypto';
import { signWebhook, verifyWebhook } from './webhook-signature';

describe('webhook signatures', () => {
  const body = '{"id":"e1","type":"conversion.created"}';

  it('is HMAC-SHA256 over "<t>.<body>" in hex', () => {
    const expected = createHmac('sha256', 'whsec_x').update(`1700000000.${body}`).digest('hex');
    expect(signWebhook('whsec_x', body, 1700000000)).toBe(`t=1700000000,v1=${expected}`);
  });

  it('verifies its own, and refuses another secret, another body, or an old timestamp', () => {
    const now = Date.now();
    const t = Math.floor(now / 1000);
    const header = signWebhook('whsec_x', body, t);
    expect(verifyWebhook('whsec_x', body, header, 300, now)).toBe(true);
    expect(verifyWebhook('whsec_y', body, header, 300, now)).toBe(false);
    expect(verifyWebhook('whsec_x', `${body} `, header, 300, now)).toBe(false);
    expect(verifyWebhook('whsec_x', body, signWebhook('whsec_x', body, t - 301), 300, now)).toBe(false);
    expect(verifyWebhook('whsec_x', body, 'garbage', 300, now)).toBe(false);
  });
});
