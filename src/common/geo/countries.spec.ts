import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { isIPv4 } from 'node:net';
import { CountryTable, fillCountries, parseIPv4 } from './countries';

type GeoIp = { lookup(ip: string): { country: string } | null };

/** geoip-lite itself, reading only the country files (as it does when the city files are absent). */
function geoipLiteCountryMode(): { geoip: GeoIp; cleanup: () => void } {
  const data = join(dirname(require.resolve('geoip-lite/package.json')), 'data');
  const dir = mkdtempSync(join(tmpdir(), 'afx-geoip-'));
  for (const file of ['geoip-country.dat', 'geoip-country6.dat']) symlinkSync(join(data, file), join(dir, file));
  const holder = global as { geodatadir?: string };
  holder.geodatadir = dir;
  let geoip!: GeoIp;
  jest.isolateModules(() => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only here, it reads its whole database at import
    geoip = require('geoip-lite');
  });
  delete holder.geodatadir;
  return { geoip, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

describe('CountryTable', () => {
  let table: CountryTable;
  let reference: ReturnType<typeof geoipLiteCountryMode>;

  beforeAll(async () => {
    table = await CountryTable.load();
    reference = geoipLiteCountryMode();
  });
  afterAll(() => reference.cleanup());

  const expected = (ip: string) => reference.geoip.lookup(ip)?.country || null;

  it.each([
    ['8.8.8.8', 'US'],
    ['81.2.69.142', 'GB'],
    ['::ffff:81.2.69.142', 'GB'],
    ['0:0:0:0:0:ffff:81.2.69.142', 'GB'],
    ['2001:4860:4860::8888', 'US'],
  ])('%s is in %s', (ip, country) => {
    expect(table.country(ip)).toBe(country);
    expect(expected(ip)).toBe(country);
  });

  it.each(['10.1.2.3', '172.16.0.1', '192.168.1.1', '127.0.0.1', '::1', '0.0.0.0', 'fe80::1%eth0', 'not an ip', '', '1.2.3', '999.1.1.1'])('has no country for %j', (ip) =>
    expect(table.country(ip)).toBeNull(),
  );

  it('agrees with geoip-lite on any IPv4 address', () => {
    fc.assert(
      fc.property(fc.ipV4(), (ip) => expect(table.country(ip)).toBe(expected(ip))),
      { numRuns: 20_000 },
    );
  });

  it('agrees with geoip-lite on any IPv6 address', () => {
    fc.assert(
      // geoip-lite misreads some spellings: compressed ones ('2620::11:0:0:0' has no country there,
      // while '2620:0:0:0:11:0:0:0' is US) and a dotted tail on a non-mapped address (it reads
      // '2001::0.0.0.0' as IPv4). Ask it the fully written form; the mapped IPv4 spellings are
      // checked by the cases above.
      fc.property(
        fc.ipV6().filter((ip) => !ip.includes('.')),
        (ip) => expect(table.country(ip)).toBe(expected(ipaddr.parse(ip).toNormalizedString())),
      ),
      { numRuns: 5_000 },
    );
    // Random IPv6 addresses mostly fall outside allocated space; walk the allocated 2000::/3 too.
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 3, maxLength: 3 }), fc.integer({ min: 0x2000, max: 0x2fff }), (rest, first) => {
        const ip = [first, ...rest].map((g) => g.toString(16)).join(':') + '::1';
        expect(table.country(ip)).toBe(expected(ip));
      }),
      { numRuns: 5_000 },
    );
  });

  it('fills only the clicks that have no country yet', async () => {
    const clicks: { ip: string | null; country?: string | null }[] = [{ ip: '8.8.8.8' }, { ip: null }, { ip: '8.8.8.8', country: 'FR' }, { ip: '10.0.0.1' }];
    await fillCountries(clicks);
    expect(clicks.map((c) => c.country)).toEqual(['US', null, 'FR', null]);
  });
});

describe('parseIPv4', () => {
  it('reads exactly what net.isIPv4 accepts', () => {
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV4Extended(), fc.string({ unit: fc.constantFrom('0', '1', '2', '5', '9', '.', 'a', ':') })), (text) => {
        const parsed = parseIPv4(text);
        expect(parsed >= 0).toBe(isIPv4(text));
        if (parsed >= 0) expect(parsed).toBe(text.split('.').reduce((n, part) => n * 256 + Number(part), 0));
      }),
      { numRuns: 20_000 },
    );
  });
});
