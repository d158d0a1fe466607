/**
 * Routing and parsing for the Stripe emulator: the form-encoded bracket
 * notation stripe-node sends (`metadata[k]=v`, `expand[0]=x`), a tiny router,
 * typed access to request parameters and Stripe-shaped errors.
 *
 * Nothing here knows about Stripe resources; see store.ts for those.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

// ---------------------------------------------------------------------------
// Form decoding
// ---------------------------------------------------------------------------

export type FormValue = string | FormObject;
export interface FormObject {
  [key: string]: FormValue;
}

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** Splits `a[b][c]` into `['a', 'b', 'c']`; `a[]` yields an empty last segment. */
function keyPath(key: string): string[] {
  const open = key.indexOf('[');
  if (open <= 0 || !key.endsWith(']')) return [key];
  const inner = key.slice(open + 1, -1).split('][');
  return [key.slice(0, open), ...inner];
}

/**
 * Decodes `application/x-www-form-urlencoded` (or a query string) into nested
 * objects, the way Stripe reads it. Arrays (`a[0]=x`, `a[]=x`) stay objects
 * keyed "0", "1", ...: none of the parameters we implement are arrays, and
 * keeping one representation avoids guessing (`metadata[0]` is a valid key).
 * A key repeated wins last, as with Stripe.
 */
export function decodeForm(input: string): FormObject {
  const root: FormObject = {};
  for (const [rawKey, value] of new URLSearchParams(input)) {
    const path = keyPath(rawKey);
    if (path.some((segment) => FORBIDDEN_KEYS.has(segment))) continue;
    let node = root;
    path.forEach((segment, i) => {
      const name = segment === '' ? String(Object.keys(node).length) : segment;
      if (i === path.length - 1) {
        node[name] = value;
        return;
      }
      const next = node[name];
      node = typeof next === 'object' ? next : (node[name] = {});
    });
  }
  return root;
}

/** JSON with sorted keys: the same parameters in another order compare equal. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const record = value as Record<string, unknown>;
  const entries = Object.keys(record)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson(record[k])}`);
  return `{${entries.join(',')}}`;
}

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

export interface StripeErrorBody {
  type: 'invalid_request_error' | 'api_error' | 'idempotency_error' | 'card_error' | 'rate_limit_error';
  message: string;
  code?: string;
  param?: string;
  doc_url?: string;
}

export interface ApiErrorOptions {
  /**
   * True when the error arose while the endpoint was executing (e.g. an
   * insufficient balance). Stripe stores such results under the idempotency
   * key and replays them; validation errors are not stored.
   */
  executed?: boolean;
  headers?: Record<string, string>;
}

/** An error answered as `{ error: {...} }` with the given HTTP status. */
export class ApiError extends Error {
  readonly executed: boolean;
  readonly headers: Record<string, string>;

  constructor(
    readonly status: number,
    readonly body: StripeErrorBody,
    options: ApiErrorOptions = {},
  ) {
    super(body.message);
    this.name = 'ApiError';
    this.executed = options.executed ?? false;
    this.headers = options.headers ?? {};
  }

  toJSON(): { error: StripeErrorBody } {
    return { error: this.body };
  }
}

const docUrl = (code: string) => `https://stripe.com/docs/error-codes/${code.replace(/_/g, '-')}`;

/** An `invalid_request_error`, with `doc_url` filled in when there is a code. */
export function invalidRequest(status: number, message: string, extra: { code?: string; param?: string } & ApiErrorOptions = {}): ApiError {
  const { code, param, ...options } = extra;
  const body: StripeErrorBody = { type: 'invalid_request_error', message };
  if (code) Object.assign(body, { code, doc_url: docUrl(code) });
  if (param) body.param = param;
  return new ApiError(status, body, options);
}

export const errors = {
  missing: (param: string) => invalidRequest(400, `Missing required param: ${param}.`, { code: 'parameter_missing', param }),
  emptyString: (param: string) =>
    invalidRequest(
      400,
      `You passed an empty string for '${param}'. We assume empty values are an attempt to unset a parameter; ` +
        `however '${param}' cannot be unset. You should remove '${param}' from your request or supply a non-empty value.`,
      { code: 'parameter_invalid_empty', param },
    ),
  invalidInteger: (param: string, value: string) => invalidRequest(400, `Invalid integer: ${value}`, { code: 'parameter_invalid_integer', param }),
  invalidValue: (param: string, message: string) => invalidRequest(400, message, { param }),
  unknownParam: (param: string) => invalidRequest(400, `Received unknown parameter: ${param}`, { code: 'parameter_unknown', param }),
  /** Unknown id in the URL (404), or in a body parameter such as `destination` (400). */
  noSuch: (what: string, id: string, param = 'id') => invalidRequest(param === 'id' ? 404 : 400, `No such ${what}: '${id}'`, { code: 'resource_missing', param }),
  unknownRoute: (method: string, path: string) =>
    invalidRequest(404, `Unrecognized request URL (${method}: ${path}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.`),
};

// ---------------------------------------------------------------------------
// Typed parameter access
// ---------------------------------------------------------------------------

/** A metadata update: `null` clears everything (`metadata=`), a `null` value deletes one key. */
export type MetadataPatch = Record<string, string | null> | null;

/** Reads request parameters with Stripe's validation errors. */
export class Params {
  constructor(readonly raw: FormObject) {}

  has(name: string): boolean {
    return this.raw[name] !== undefined;
  }

  /** Rejects top-level parameters the endpoint does not declare (Stripe answers `parameter_unknown`). */
  rejectUnknown(known: readonly string[]): void {
    const unknown = Object.keys(this.raw).find((k) => k !== 'expand' && !known.includes(k));
    if (unknown !== undefined) throw errors.unknownParam(unknown);
  }

  string(name: string): string | undefined {
    const value = this.raw[name];
    if (value === undefined) return undefined;
    if (typeof value !== 'string') throw errors.invalidValue(name, `Invalid string: ${JSON.stringify(value)}`);
    return value;
  }

  requiredString(name: string): string {
    const value = this.string(name);
    if (value === undefined) throw errors.missing(name);
    if (value === '') throw errors.emptyString(name);
    return value;
  }

  integer(name: string, options: { required: true; min?: number }): number;
  integer(name: string, options?: { required?: boolean; min?: number }): number | undefined;
  integer(name: string, options: { required?: boolean; min?: number } = {}): number | undefined {
    const value = options.required ? this.requiredString(name) : this.string(name);
    if (value === undefined || value === '') return undefined;
    if (!/^-?\d+$/.test(value) || !Number.isSafeInteger(Number(value))) throw errors.invalidInteger(name, value);
    const n = Number(value);
    if (options.min !== undefined && n < options.min) {
      throw invalidRequest(400, `This value must be greater than or equal to ${options.min}.`, {
        code: 'parameter_invalid_integer',
        param: name,
      });
    }
    return n;
  }

  boolean(name: string): boolean | undefined {
    const value = this.string(name);
    if (value === undefined) return undefined;
    if (value !== 'true' && value !== 'false') throw errors.invalidValue(name, `Invalid boolean: ${value}`);
    return value === 'true';
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], options: { required: true }): T;
  oneOf<T extends string>(name: string, allowed: readonly T[], options?: { required?: boolean }): T | undefined;
  oneOf<T extends string>(name: string, allowed: readonly T[], options: { required?: boolean } = {}): T | undefined {
    const value = options.required ? this.requiredString(name) : this.string(name);
    if (value === undefined) return undefined;
    if (!(allowed as readonly string[]).includes(value)) {
      throw errors.invalidValue(name, `Invalid ${name}: must be one of ${allowed.join(', ')}`);
    }
    return value as T;
  }

  /** Lower-cased three-letter currency code, as Stripe returns it. */
  currency(name: string, options: { required: true }): string;
  currency(name: string, options?: { required?: boolean }): string | undefined;
  currency(name: string, options: { required?: boolean } = {}): string | undefined {
    const value = options.required ? this.requiredString(name) : this.string(name);
    if (value === undefined) return undefined;
    if (!/^[a-zA-Z]{3}$/.test(value)) throw errors.invalidValue(name, `Invalid currency: ${value}`);
    return value.toLowerCase();
  }

  object(name: string): FormObject | undefined {
    const value = this.raw[name];
    if (value === undefined || value === '') return undefined;
    if (typeof value === 'string') throw errors.invalidValue(name, `Invalid object`);
    return value;
  }

  /** Stripe's metadata rules: 50 keys, keys up to 40 chars, string values up to 500 chars. */
  metadata(name = 'metadata'): MetadataPatch | undefined {
    const value = this.raw[name];
    if (value === undefined) return undefined;
    if (value === '') return null;
    if (typeof value === 'string') throw errors.invalidValue(name, 'Invalid metadata: must be an object');
    const patch: Record<string, string | null> = {};
    for (const [key, v] of Object.entries(value)) {
      if (typeof v !== 'string') throw errors.invalidValue(`${name}[${key}]`, `Invalid value type: must be a string`);
      if (key.length > 40) throw errors.invalidValue(`${name}[${key}]`, `Metadata keys can have up to 40 characters.`);
      if (v.length > 500) throw errors.invalidValue(`${name}[${key}]`, `Metadata values can have up to 500 characters.`);
      patch[key] = v === '' ? null : v;
    }
    if (Object.keys(patch).length > 50) throw errors.invalidValue(name, 'Metadata can have up to 50 keys.');
    return patch;
  }
}

// ---------------------------------------------------------------------------
// Routing
// ---------------------------------------------------------------------------

export interface RouteMatch<H> {
  handler: H;
  pathParams: Record<string, string>;
}

/** Method + path-pattern router (`/v1/transfers/:id/reversals`); first registered match wins. */
export class Router<H> {
  private readonly routes: { method: string; segments: string[]; handler: H }[] = [];

  add(method: string, pattern: string, handler: H): this {
    this.routes.push({ method: method.toUpperCase(), segments: pattern.split('/').filter(Boolean), handler });
    return this;
  }

  match(method: string, path: string): RouteMatch<H> | undefined {
    const parts = path.split('/').filter(Boolean);
    for (const route of this.routes) {
      if (route.method !== method.toUpperCase() || route.segments.length !== parts.length) continue;
      const pathParams: Record<string, string> = {};
      const ok = route.segments.every((segment, i) => {
        if (segment.startsWith(':')) {
          pathParams[segment.slice(1)] = safeDecode(parts[i]);
          return true;
        }
        return segment === parts[i];
      });
      if (ok) return { handler: route.handler, pathParams };
    }
    return undefined;
  }
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

// ---------------------------------------------------------------------------
// Node http helpers
// ---------------------------------------------------------------------------

const MAX_BODY_BYTES = 1024 * 1024;

export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error('request body too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.writableEnded || res.destroyed) return;
  const payload = JSON.stringify(body, null, 2);
  res.writeHead(status, {
    ...headers,
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(payload),
  });
  res.end(payload);
}

/** Parses a JSON body for the control API; an empty body is `{}`. */
export function parseJsonBody(body: string): Record<string, unknown> {
  if (body.trim() === '') return {};
  const parsed: unknown = JSON.parse(body);
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new Error('expected a JSON object');
  }
  return parsed as Record<string, unknown>;
}
