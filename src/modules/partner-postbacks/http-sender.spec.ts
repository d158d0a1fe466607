import { PartnerPostbackReceiver, rebindingDns } from '../../../test/support/partner-postback-receiver';
import { isPrivateAddress, sendGet } from './http-sender';

const REFUSED = 'target resolves to a private address';

describe('postback targets', () => {
  // Every spelling of a non-public address a resolver or a URL parser can hand over.
  it.each([
    ['0.0.0.0', 'this network'],
    ['0.1.2.3', 'this network'],
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['10.0.0.1', 'private'],
    ['10.255.255.255', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['100.127.255.255', 'carrier-grade NAT'],
    ['169.254.0.1', 'link-local'],
    ['169.254.169.254', 'cloud metadata'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['2130706433', 'decimal loopback'],
    ['0x7f.1', 'hex loopback'],
    ['0177.0.0.1', 'octal loopback'],
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['::ffff:127.0.0.1', 'IPv4-mapped loopback'],
    ['::ffff:7f00:1', 'IPv4-mapped loopback, hex'],
    ['::ffff:10.0.0.1', 'IPv4-mapped private'],
    ['::ffff:a9fe:a9fe', 'IPv4-mapped metadata'],
    ['::127.0.0.1', 'IPv4-compatible loopback'],
    ['::7f00:1', 'IPv4-compatible loopback, hex'],
    ['::a00:1', 'IPv4-compatible private'],
    ['64:ff9b::7f00:1', 'NAT64 loopback'],
    ['64:ff9b::10.0.0.1', 'NAT64 private'],
    ['64:ff9b::a9fe:a9fe', 'NAT64 metadata'],
    ['2002:7f00:1::1', '6to4 loopback'],
    ['fc00::1', 'unique local'],
    ['fd00::1', 'unique local'],
    ['fe80::1', 'link-local'],
    ['febf::1', 'link-local'],
    ['ff02::1', 'multicast'],
  ])('refuses %s (%s)', (ip) => expect(isPrivateAddress(ip)).toBe(true));

  it.each(['8.8.8.8', '1.1.1.1', '93.184.216.34', '172.32.0.1', '172.15.255.255', '100.128.0.1', '169.253.255.255', '192.169.0.1', '2606:4700::1111', '2a00:1450:4001:81b::200e'])(
    'lets %s through',
    (ip) => expect(isPrivateAddress(ip)).toBe(false),
  );

  describe('calls', () => {
    const receiver = new PartnerPostbackReceiver();
    let port: number;
    beforeAll(async () => {
      await receiver.start();
      port = receiver.port;
    });
    afterAll(() => receiver.stop());
    beforeEach(() => receiver.received.splice(0));

    // All of these reach the receiver on 127.0.0.1 if let through; nothing leaves the machine.
    it.each(['127.0.0.1', '[::ffff:127.0.0.1]', '[::ffff:7f00:1]', '2130706433', '0x7f.1', '0177.0.0.1', '127.1', '0.0.0.0', '[::]', '[::1]', 'localhost'])(
      'refuses http://%s:<port>/ without calling it',
      async (host) => {
        const result = await sendGet(`http://${host}:${port}/x`, 2000, false);
        expect(result).toMatchObject({ statusCode: null, error: REFUSED });
        expect(receiver.received).toHaveLength(0);
      },
    );

    it('refuses cloud metadata without calling it', async () => {
      const metadata = await sendGet('http://169.254.169.254/latest/meta-data', 200, false);
      expect(metadata.error).toBe(REFUSED);
    });

    it('checks the address the socket connects to, not an earlier answer (DNS rebinding)', async () => {
      const restore = rebindingDns({ 'tracker.rebind.test': { checked: '203.0.113.7', connected: '127.0.0.1' } });
      try {
        const result = await sendGet(`http://tracker.rebind.test:${port}/pb`, 2000, false);
        expect(receiver.received).toHaveLength(0);
        expect(result).toMatchObject({ statusCode: null, error: REFUSED });
      } finally {
        restore();
      }
    });

    it('calls private targets when allowed, does not follow redirects, and never hands the answer back', async () => {
      receiver.answer({ status: 200, body: 'root:x:0:0:root:/root:/bin/bash\nsecret-token=abc' }, { status: 302, headers: { location: `http://127.0.0.1:${port}/followed` } });
      const ok = await sendGet(`http://127.0.0.1:${port}/pb`, 2000, true);
      expect(ok).toMatchObject({ statusCode: 200, error: null, responseExcerpt: null });
      const redirected = await sendGet(`http://127.0.0.1:${port}/moved`, 2000, true);
      expect(redirected).toMatchObject({ statusCode: 302, error: 'HTTP 302 (redirects are not followed)', responseExcerpt: null });
      expect(receiver.received.map((r) => r.url)).toEqual(['/pb', '/moved']);
    });
  });
});
