import { isPrivateAddress, sendGet } from './http-sender';

describe('postback targets', () => {
  it.each(['127.0.0.1', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', 'fd00::1', 'fe80::1', '::ffff:127.0.0.1'])(
    'treats %s as private',
    (ip) => expect(isPrivateAddress(ip)).toBe(true),
  );

  it.each(['8.8.8.8', '172.32.0.1', '93.184.216.34', '2606:4700::1111'])('treats %s as public', (ip) => expect(isPrivateAddress(ip)).toBe(false));

  it('refuses a private target without calling it unless allowed', async () => {
    const result = await sendGet('http://127.0.0.1:1/x', 200, false);
    expect(result).toMatchObject({ statusCode: null, error: 'target resolves to a private address' });
    const metadata = await sendGet('http://169.254.169.254/latest/meta-data', 200, false);
    expect(metadata.error).toBe('target resolves to a private address');
  });
});
