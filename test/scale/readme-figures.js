#!/usr/bin/env node
/**
 * Writes the figures of the last `npm run test:scale` (test/artifacts/scale-figures.json, or
 * scale-figures-quick.json with --quick) into README.md, between the scale-figures markers of
 * "Scaling out". Run after a full run: `node test/scale/readme-figures.js`.
 */
const { readFileSync, writeFileSync } = require('node:fs');
const { resolve } = require('node:path');

const quick = process.argv.includes('--quick');
const root = resolve(__dirname, '../..');
const f = JSON.parse(readFileSync(resolve(root, `test/artifacts/scale-figures${quick ? '-quick' : ''}.json`), 'utf8'));
const json = (v) => (v === undefined ? '–' : '`' + JSON.stringify(v).replace(/"/g, '') + '`');
const conv = f['redis failover: conversions'] ?? {};
const inv = f['redis failover: invoice run'] ?? {};
const api = f['api kill: clicks'] ?? {};
const pay = f['worker kill mid payout run'] ?? {};
const primary = f['redis primary killed'] ?? {};

const rows = [
  ['clicks/s through HAProxy, 1 API process', f['clicks/s through HAProxy, 1 API process']],
  ['clicks/s through HAProxy, 2 API processes', f['clicks/s through HAProxy, 2 API processes']],
  ['clicks refused while measuring (HAProxy 503)', json(f['clicks refused while measuring'])],
  ['queues per Redis primary (port: hash tags)', json(f['queues per Redis primary'])],
  ['Redis primary killed', `port ${primary.port} (${(primary.hashTagsItServed ?? []).join(', ')}); cluster healthy again after ${primary.failoverSeconds} s`],
  ['… requests during the failover', json(f['redis failover: outcomes'])],
  [
    '… conversions',
    `${conv.accepted} accepted, ${conv.stored} stored, ${conv.commissionEntries} commission entries; ${conv.approved} approved, ${conv.approvalEntries} approval entries`,
  ],
  [
    '… invoice run',
    `${inv.status}: ${inv.invoices} invoice(s) for ${inv.advertisers} advertiser(s), ${inv.billed_conversions} conversions, ${inv.invoiced} invoiced = ${inv.billed} billed`,
  ],
  [
    'API process killed under clicks',
    `${api.answered302} 302s answered, ${api.stored} stored; lost: ${api.lostInDeadProcessBuffer} in the dead process's click buffer, ${api.lostFromSurvivor} from the survivor; ${api.answeredAfterKill} answered after the kill; failed requests ${json(api.failedRequests)}`,
  ],
  [
    'worker killed mid payout run',
    `${pay.affiliates} affiliates, killed at unit ${pay.killedAtUnit}, ${pay.killedHolder}: ${pay.transfers} transfers, ${pay.doubled} doubled, ${pay.missed} missed, ${pay.wrongAmount} wrong amounts`,
  ],
  ['replica stopped: report answers', json(f['replica stopped: report answers'])],
  ['… API warnings switching reads to the primary', f['replica stopped: API log lines switching reads to the primary']],
  ['`ledger-verify` exit code', f['ledger-verify exit code']],
  ['topology up / whole run', `${f['topology up in s']} s / ${f['run took s']} s`],
];

const block = [
  '<!-- scale-figures -->',
  `Last run: ${f.date.slice(0, 16).replace('T', ' ')} UTC, \`npm run test:scale${quick ? ' -- --quick' : ''}\`, on ${f.machine}; Redis ${f.engines.redis}, ${f.engines.postgresql.replace(/^postgres \(PostgreSQL\) /, 'PostgreSQL ')}, ${f.engines.haproxy.split(' - ')[0]}. This machine is shared with other work, so the click rates are a floor, not a capacity: on 2 cores the load generator, HAProxy, PostgreSQL, Redis and the API processes share the same CPUs.`,
  '',
  '| Figure | Value |',
  '| --- | --- |',
  ...rows.map(([k, v]) => `| ${k} | ${v} |`),
  '<!-- /scale-figures -->',
].join('\n');

const readme = resolve(root, 'README.md');
const text = readFileSync(readme, 'utf8');
const next = text.replace(/<!-- scale-figures -->[\s\S]*?<!-- \/scale-figures -->/, block);
if (next === text && !text.includes(block)) throw new Error('README.md has no scale-figures markers');
writeFileSync(readme, next);
process.stdout.write('README.md: scale-out figures updated\n');
