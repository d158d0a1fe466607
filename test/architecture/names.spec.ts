import { join } from 'node:path';
import { readSources, SourceFile } from './table-ownership';

/*
 * Names say one thing (ARCHITECTURE.md, "Names"): "reconcile" is comparing our records with
 * Stripe's, nothing else; an incoming conversion is a "postback", a call out to an affiliate's
 * tracker a "partner postback". Checked on code, comments and string literals left out (the
 * words stay in prose, tables, topics and the HTTP API).
 */

const ROOT = join(__dirname, '..', '..');
const SOURCES = readSources(join(ROOT, 'src'), ROOT);
const RECONCILIATION = [/^src\/modules\/reconciliation\//, /^src\/reconcile\.ts$/];
const PARTNER_POSTBACKS = /^src\/modules\/partner-postbacks\//;
/** Where incoming postbacks live: the conversion endpoint and the advertiser's postback token. */
const INCOMING_POSTBACKS = /^src\/modules\/(conversions|accounts)\//;

/** The code of a file without its comments and string literals. */
const codeOf = (text: string) =>
  text
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/(['"`])(?:\\.|(?!\1)[^\\])*\1/g, '""')
    .replace(/\/\/[^\n]*/g, '');

/** `file: identifier` for each identifier that speaks of reconciling outside the reconciliation. */
function reconcileOutsideReconciliation(files: SourceFile[]): string[] {
  return files
    .filter((f) => !RECONCILIATION.some((r) => r.test(f.path)))
    .flatMap((f) => [...new Set(codeOf(f.text).match(/\b\w*[Rr]econcil\w*/g) ?? [])].map((name) => `${f.path}: ${name}`));
}

/** `file: name` for each exported declaration about postbacks on the wrong side: outgoing ones say "partner", incoming ones do not. */
function postbackNamesOnTheWrongSide(files: SourceFile[]): string[] {
  return files.flatMap((f) => {
    const outgoing = PARTNER_POSTBACKS.test(f.path);
    if (!outgoing && !INCOMING_POSTBACKS.test(f.path)) return [];
    const names = [...f.text.matchAll(/export (?:abstract )?(?:class|interface|type|function|const|enum) (\w*postback\w*)/gi)].map((m) => m[1]);
    return names.filter((name) => /partner_?postback/i.test(name) !== outgoing).map((name) => `${f.path}: ${name}`);
  });
}

describe('names say one thing', () => {
  it('"reconcile" names only the reconciliation with Stripe', () => {
    expect(reconcileOutsideReconciliation(SOURCES)).toEqual([]);
  });

  it('outgoing postbacks are partner postbacks; incoming ones are not', () => {
    expect(postbackNamesOnTheWrongSide(SOURCES)).toEqual([]);
  });

  it('catches a commission method called reconcile, but not the word in a comment or a string', () => {
    const planted = { path: 'src/modules/commissions/planted.ts', text: '// reconcile\nconst s = "reconcile";\nasync reconcileMany(ids: string[]) {}' };
    expect(reconcileOutsideReconciliation([planted])).toEqual(['src/modules/commissions/planted.ts: reconcileMany']);
  });

  it('catches an outgoing postback class without "partner" and an incoming one with it', () => {
    const outgoing = { path: 'src/modules/partner-postbacks/planted.ts', text: 'export class PostbacksService {}' };
    const incoming = { path: 'src/modules/conversions/planted.ts', text: 'export class PartnerPostbackController {}' };
    expect(postbackNamesOnTheWrongSide([outgoing, incoming])).toEqual([
      'src/modules/partner-postbacks/planted.ts: PostbacksService',
      'src/modules/conversions/planted.ts: PartnerPostbackController',
    ]);
  });
});
