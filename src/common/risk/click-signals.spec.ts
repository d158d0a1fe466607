import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { AsnTable, HOSTING_ASNS_FILE, parseHostingAsns } from './asn';
import { botUserAgent, ClickSignalInput, datacenterIp, scoreClickBatch } from './click-signals';

const BROWSER = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1';
/** Addresses of listed hosting networks in the shipped data, and of a home network that is not listed. */
const DIGITALOCEAN_V4 = '5.101.96.1';
const DIGITALOCEAN_V6 = '2400:6180::1';
const HOME = '81.2.69.142';

describe('click signals', () => {
  let table: AsnTable;
  beforeAll(async () => {
    table = await AsnTable.load();
  });

  const click = (over: Partial<ClickSignalInput> = {}): ClickSignalInput => ({ affiliateId: 'a1', linkId: 'l1', ip: HOME, userAgent: BROWSER, sub1: null, ...over });

  describe('bot_user_agent', () => {
    it('fires on a crawler, a headless browser, a script, and no user agent', () => {
      for (const ua of ['Googlebot/2.1 (+http://www.google.com/bot.html)', 'HeadlessChrome/120', 'python-requests/2.31', null]) {
        expect(botUserAgent(ua)?.code).toBe('bot_user_agent');
      }
    });
    it('stays quiet on a browser', () => {
      expect(botUserAgent(BROWSER)).toBeNull();
    });
  });

  describe('datacenter_ip', () => {
    it('fires on a listed hosting network, IPv4, IPv6 and IPv4-mapped, naming it', () => {
      expect(datacenterIp(DIGITALOCEAN_V4, table)).toEqual({ code: 'datacenter_ip', detail: 'AS14061 DigitalOcean, LLC' });
      expect(datacenterIp(DIGITALOCEAN_V6, table)?.detail).toBe('AS14061 DigitalOcean, LLC');
      expect(datacenterIp(`::ffff:${DIGITALOCEAN_V4}`, table)?.code).toBe('datacenter_ip');
    });
    it('stays quiet on a home network, a private address, garbage, no IP, and without data', () => {
      for (const ip of [HOME, '192.168.1.10', 'not-an-ip', null]) expect(datacenterIp(ip, table)).toBeNull();
      expect(datacenterIp(DIGITALOCEAN_V4, null)).toBeNull();
    });
    it('the shipped list parses and the table keeps only its ranges', () => {
      const listed = parseHostingAsns(readFileSync(HOSTING_ASNS_FILE, 'utf8'));
      expect(listed.get(14061)).toMatch(/DigitalOcean/);
      expect(listed.size).toBeGreaterThan(100);
      const small = AsnTable.fromCsv(new Map([[14061, 'DO']]), `90529792,90530047,14061,"DigitalOcean, LLC"\n1359659008,1359675391,20712,Andrews & Arnold\n`, '');
      expect(small.size).toBe(1);
      expect(small.hosting(DIGITALOCEAN_V4)).toEqual({ asn: 14061, name: 'DO' });
      expect(small.hosting(HOME)).toBeNull();
      expect(dirname(HOSTING_ASNS_FILE)).toBe(join(__dirname));
    });
  });

  describe('ip_flood and sub_flood within a batch', () => {
    const limits = { ipClicksPerHour: 3, subClicksPerHour: 4 };
    it('ip_flood fires on every click of an IP over the limit for one affiliate', () => {
      const risks = scoreClickBatch([click(), click(), click(), click(), click({ ip: '81.2.69.143' })], table, limits);
      expect(risks.slice(0, 4).every((r) => r.reasons.some((x) => x.code === 'ip_flood'))).toBe(true);
      expect(risks[4].reasons).toEqual([]);
      expect(risks[0].reasons[0].detail).toBe('4 clicks from one IP within an hour (more than 3)');
    });
    it('ip_flood stays quiet at the limit, and across affiliates', () => {
      const risks = scoreClickBatch([click(), click(), click(), click({ affiliateId: 'a2' })], table, limits);
      expect(risks.every((r) => r.score === 0)).toBe(true);
    });
    it('sub_flood fires on a sub id over the limit on one link, whatever the IPs', () => {
      const risks = scoreClickBatch(
        [1, 2, 3, 4, 5].map((i) => click({ ip: `81.2.69.${i}`, sub1: 'promo' })),
        table,
        limits,
      );
      expect(risks.every((r) => r.reasons.map((x) => x.code).join() === 'sub_flood')).toBe(true);
    });
    it('sub_flood stays quiet on honest traffic: different subs, links, or no sub', () => {
      const risks = scoreClickBatch(
        [1, 2, 3, 4, 5].map((i) => click({ ip: `81.2.69.${i}`, sub1: i % 2 ? 'a' : null, linkId: `l${i}` })),
        table,
        limits,
      );
      expect(risks.every((r) => r.score === 0)).toBe(true);
    });
    it('a flood from a data-centre range with a bot is held by the default policy', () => {
      const risks = scoreClickBatch(
        [1, 2, 3, 4].map(() => click({ ip: DIGITALOCEAN_V4, userAgent: 'curl/8.0' })),
        table,
        limits,
      );
      expect(risks[0].reasons.map((r) => r.code)).toEqual(['ip_flood', 'bot_user_agent', 'datacenter_ip']);
      expect(risks[0].score).toBeGreaterThanOrEqual(60);
    });
  });
});
