import { Logger } from '@nestjs/common';
import { readFile } from 'node:fs/promises';
import { isIPv6 } from 'node:net';
import { dirname, join } from 'node:path';
import { parseIPv4, prefix64 } from '../geo/countries';

/** The repository's list of hosting and data-centre networks: `<asn> <name>` a line, `#` comments (scripts/refresh-hosting-asns.ts). */
export const HOSTING_ASNS_FILE = join(__dirname, 'hosting-asns.txt');
const MAPPED_V4 = /^(?:::|(?:0{1,4}:){5})ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;

export interface HostingNetwork {
  asn: number;
  name: string;
}

/** Reads the hosting list: ASN → name. */
export function parseHostingAsns(text: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    const match = /^(?:AS)?(\d+)\s*(.*)$/i.exec(line);
    if (match) out.set(Number(match[1]), match[2] || `AS${match[1]}`);
  }
  return out;
}

/**
 * Which IP ranges belong to a hosting or data-centre network, from the ASN data
 * `@ip-location-db/asn` ships (asn-ipv4-num.csv, asn-ipv6-num.csv: start, end, ASN, name). Only the
 * ranges of the listed ASNs are kept, in sorted typed arrays (IPv4 as uint32, IPv6 by its first 64
 * bits): a few tens of thousands of ranges, a binary search a lookup. Measured in the README.
 */
export class AsnTable {
  constructor(
    private readonly names: ReadonlyMap<number, string>,
    private readonly v4: { start: Uint32Array; end: Uint32Array; asn: Uint32Array },
    private readonly v6: { start: BigUint64Array; end: BigUint64Array; asn: Uint32Array },
  ) {}

  static async load(hostingFile = HOSTING_ASNS_FILE, dataDir = dirname(require.resolve('@ip-location-db/asn/package.json'))): Promise<AsnTable> {
    const [list, v4, v6] = await Promise.all([
      readFile(hostingFile, 'utf8'),
      readFile(join(dataDir, 'asn-ipv4-num.csv'), 'latin1'),
      readFile(join(dataDir, 'asn-ipv6-num.csv'), 'latin1'),
    ]);
    return AsnTable.fromCsv(parseHostingAsns(list), v4, v6);
  }

  /** Keeps the rows of `csv` whose ASN is listed; the files are sorted by start already. */
  static fromCsv(hosting: ReadonlyMap<number, string>, v4Csv: string, v6Csv: string): AsnTable {
    const v4 = { start: [] as number[], end: [] as number[], asn: [] as number[] };
    const v6 = { start: [] as bigint[], end: [] as bigint[], asn: [] as number[] };
    eachRow(v4Csv, (start, end, asn) => {
      if (!hosting.has(asn)) return;
      v4.start.push(Number(start));
      v4.end.push(Number(end));
      v4.asn.push(asn);
    });
    eachRow(v6Csv, (start, end, asn) => {
      if (!hosting.has(asn)) return;
      v6.start.push(BigInt(start) >> 64n);
      v6.end.push(BigInt(end) >> 64n);
      v6.asn.push(asn);
    });
    return new AsnTable(
      hosting,
      { start: Uint32Array.from(v4.start), end: Uint32Array.from(v4.end), asn: Uint32Array.from(v4.asn) },
      { start: BigUint64Array.from(v6.start), end: BigUint64Array.from(v6.end), asn: Uint32Array.from(v6.asn) },
    );
  }

  get size(): number {
    return this.v4.start.length + this.v6.start.length;
  }

  /** The hosting network `ip` belongs to, or null (not listed, private, malformed). */
  hosting(ip: string): HostingNetwork | null {
    let v4 = parseIPv4(ip);
    if (v4 < 0 && isIPv6(ip)) {
      const mapped = MAPPED_V4.exec(ip);
      if (!mapped) return this.found(lastAtOrBelow(this.v6.start, this.v6.end, prefix64(ip)), this.v6.asn);
      v4 = parseIPv4(mapped[1]);
    }
    return v4 < 0 ? null : this.found(lastAtOrBelow(this.v4.start, this.v4.end, v4), this.v4.asn);
  }

  private found(row: number, asns: Uint32Array): HostingNetwork | null {
    if (row < 0) return null;
    const asn = asns[row];
    return { asn, name: this.names.get(asn) ?? `AS${asn}` };
  }
}

/** The row whose [start, end] holds `value`, or -1. */
function lastAtOrBelow<T extends number | bigint>(starts: ArrayLike<T>, ends: ArrayLike<T>, value: T): number {
  let low = 0;
  let high = starts.length - 1;
  let found = -1;
  while (low <= high) {
    const mid = (low + high) >>> 1;
    if (starts[mid] <= value) {
      found = mid;
      low = mid + 1;
    } else high = mid - 1;
  }
  return found >= 0 && value <= ends[found] ? found : -1;
}

/** Calls `row` with the first three fields of each CSV line (the name, which may be quoted, is not read). */
function eachRow(csv: string, row: (start: string, end: string, asn: number) => void): void {
  let at = 0;
  while (at < csv.length) {
    let eol = csv.indexOf('\n', at);
    if (eol < 0) eol = csv.length;
    const a = csv.indexOf(',', at);
    const b = a < 0 ? -1 : csv.indexOf(',', a + 1);
    const c = b < 0 ? -1 : csv.indexOf(',', b + 1);
    if (c > 0 && c < eol) row(csv.slice(at, a), csv.slice(a + 1, b), Number(csv.slice(b + 1, c)));
    at = eol + 1;
  }
}

let shared: Promise<AsnTable | null> | undefined;

/** The process's table, loaded on first use; null (and a warning) if the data cannot be read. */
export function asnTable(): Promise<AsnTable | null> {
  shared ??= (async () => {
    const started = Date.now();
    const table = await AsnTable.load();
    new Logger('HostingNetworks').log(`hosting networks: ${table.size} IP ranges loaded in ${Date.now() - started} ms`);
    return table;
  })().catch((error: Error) => {
    new Logger('HostingNetworks').warn(`ASN data unavailable, no click is marked datacenter_ip: ${error.message}`);
    return null;
  });
  return shared;
}
