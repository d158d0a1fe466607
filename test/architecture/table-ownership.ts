import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * The scanner behind table-ownership.spec.ts: where each source file reaches a table, by SQL
 * text or through a TypeORM entity, and which of those reaches cross into a table another module
 * owns without an allowance. Kept apart from the spec so the spec can also run it on planted
 * sources and show it catches them.
 */

export interface SourceFile {
  path: string;
  text: string;
}

/** One place where a file reaches a table. */
export interface TableAccess {
  file: string;
  line: number;
  table: string;
  /** Changes or locks rows: INSERT, UPDATE, DELETE, SELECT … FOR UPDATE, an entity save, a pessimistic lock. */
  write: boolean;
}

export interface OwnershipRules {
  /** Table → the module that owns it (its repository holds every query on it). */
  owners: ReadonlyMap<string, string>;
  /** Tables no single module owns, each with why (any module may use them). */
  shared: Readonly<Record<string, string>>;
  /** Files that are read models: they may read any table, never write one they do not own. */
  readModels: Readonly<Record<string, string>>;
  /** What remains: one file's access to one foreign table, with why. */
  allowed: readonly { file: string; table: string; write: boolean; reason: string }[];
}

export function readSources(root: string, base: string): SourceFile[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts')) files.push(path);
    }
  };
  walk(root);
  return files.sort().map((path) => ({ path: relative(base, path), text: readFileSync(path, 'utf8') }));
}

/** The module a file belongs to: `src/modules/<m>/`, `src/integrations/<m>/`, else its folder under `src/` (`app` for the entry points). */
export function moduleOf(path: string): string {
  const feature = path.match(/^src\/(?:modules|integrations)\/([^/]+)\//);
  if (feature) return feature[1];
  const folder = path.match(/^src\/([^/]+)\//);
  return folder ? folder[1] : 'app';
}

/** Table → owning module, from where each `@Entity('table')` is declared. */
export function entityOwners(files: SourceFile[]): Map<string, string> {
  const owners = new Map<string, string>();
  for (const { path, text } of files) for (const m of text.matchAll(/@Entity\(\s*'([a-z_]+)'/g)) owners.set(m[1], moduleOf(path));
  return owners;
}

/** Entity class → table, from every `@Entity('table') … export class Name`. */
function entityClasses(files: SourceFile[]): Map<string, string> {
  const classes = new Map<string, string>();
  for (const { text } of files) for (const m of text.matchAll(/@Entity\(\s*'([a-z_]+)'[^)]*\)[\s\S]*?export class (\w+)/g)) classes.set(m[2], m[1]);
  return classes;
}

/** SQL keywords are matched in upper case only, so prose ("from the ledger") never counts; `, table t` catches comma joins. */
const SQL = /\b(DELETE FROM|FROM|JOIN|INTO|UPDATE)\s+"?([a-z][a-z0-9_]*)\b|,\s*([a-z][a-z0-9_]*)\s+[a-z]{1,2}(?=\s*(?:WHERE|ON|JOIN|CROSS|LEFT|,|\n|`|$))/g;
const READS = new Set([
  'getRepository',
  'createQueryBuilder',
  'find',
  'findBy',
  'findOne',
  'findOneBy',
  'findOneOrFail',
  'findOneByOrFail',
  'exists',
  'existsBy',
  'count',
  'countBy',
]);
const WRITES = new Set(['update', 'insert', 'save', 'delete', 'upsert', 'increment', 'decrement', 'create', 'remove', 'softDelete']);
const ENTITY_CALL = /\b([a-zA-Z]+)\(\s*([A-Z]\w*)\b/g;

const lineAt = (text: string, index: number) => text.slice(0, index).split('\n').length;

/**
 * Every access to a known table in the file. A FROM or JOIN is a lock, so a write, when the SQL
 * literal it stands in (up to the next backtick) says FOR UPDATE; an entity call is a write when
 * it saves or asks for a pessimistic_write lock.
 */
export function tableAccesses(file: SourceFile, tables: ReadonlySet<string>, classes: ReadonlyMap<string, string>): TableAccess[] {
  const found: TableAccess[] = [];
  for (const m of file.text.matchAll(SQL)) {
    const table = m[2] ?? m[3];
    if (!tables.has(table)) continue;
    const rest = file.text.slice(m.index + m[0].length);
    const literal = rest.slice(0, rest.includes('`') ? rest.indexOf('`') : undefined);
    const write = m[1] === 'INTO' || m[1] === 'UPDATE' || m[1] === 'DELETE FROM' || /FOR (NO KEY )?UPDATE/.test(literal);
    found.push({ file: file.path, line: lineAt(file.text, m.index), table, write });
  }
  for (const m of file.text.matchAll(ENTITY_CALL)) {
    const table = classes.get(m[2]);
    if (!table || (!READS.has(m[1]) && !WRITES.has(m[1]))) continue;
    const statement = file.text.slice(m.index).split(/;\s*\n/)[0];
    found.push({ file: file.path, line: lineAt(file.text, m.index), table, write: WRITES.has(m[1]) || /pessimistic_write/.test(statement) });
  }
  return found;
}

/** Every access that breaks the rules, as `file:line writes|reads table (owned by module)`, and allowances that no longer match anything. */
export function ownershipViolations(files: SourceFile[], rules: OwnershipRules): { violations: string[]; stale: string[] } {
  const classes = entityClasses(files);
  const tables = new Set([...rules.owners.keys(), ...Object.keys(rules.shared)]);
  const used = new Set<number>();
  const violations: string[] = [];
  for (const file of files) {
    for (const access of tableAccesses(file, tables, classes)) {
      const owner = rules.owners.get(access.table);
      if (!owner || owner === moduleOf(access.file)) continue;
      const allowance = rules.allowed.findIndex((a) => a.file === access.file && a.table === access.table && (a.write || !access.write));
      if (allowance >= 0) used.add(allowance);
      else if (access.write || !(access.file in rules.readModels)) {
        violations.push(`${access.file}:${access.line} ${access.write ? 'writes' : 'reads'} ${access.table} (owned by ${owner})`);
      }
    }
  }
  const stale = rules.allowed.filter((_, i) => !used.has(i)).map((a) => `${a.file} ${a.write ? 'writes' : 'reads'} ${a.table}`);
  return { violations, stale };
}

/**
 * Where a table that has a repository is reached outside it, the owner's own module included, as
 * `file:line writes|reads table (its repository: path)`; read models may read it, and what
 * `rules.allowed` lists for the file and table is let through.
 */
export function outsideRepositories(files: SourceFile[], rules: OwnershipRules, repositories: Readonly<Record<string, string>>): string[] {
  const classes = entityClasses(files);
  const tables = new Set(Object.keys(repositories));
  const found: string[] = [];
  for (const file of files) {
    for (const access of tableAccesses(file, tables, classes)) {
      const repository = repositories[access.table];
      if (!repository || access.file === repository) continue;
      if (!access.write && access.file in rules.readModels) continue;
      if (rules.allowed.some((a) => a.file === access.file && a.table === access.table && (a.write || !access.write))) continue;
      found.push(`${access.file}:${access.line} ${access.write ? 'writes' : 'reads'} ${access.table} (its repository: ${repository})`);
    }
  }
  return found;
}
