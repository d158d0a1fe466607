import { isIP } from 'node:net';
import { SUB_ID_MAX_LENGTH } from './dto/sub-ids.dto';
import { SUB_IDS, SubValues } from './tracking-link.entity';

const USER_AGENT_MAX = 512;
const REFERRER_MAX = 2048;
/** NUL or a surrogate half: the rare text that needs the (costlier) clean-up below. */
const NEEDS_CLEANING = /[\0\uD800-\uDFFF]/;

/**
 * Text from a request made safe to store and to put in a URL: well-formed UTF-16 (a lone
 * surrogate would make encodeURIComponent throw), no NUL (PostgreSQL text refuses it, which
 * would poison a whole batch), at most `max` characters (code points, never half a pair).
 */
export function cleanText(value: unknown, max: number): string | null {
  const raw = Array.isArray(value) ? value[0] : value;
  if (typeof raw !== 'string' || raw.length === 0) return null;
  const text = NEEDS_CLEANING.test(raw) ? raw.replace(/\p{Cs}/gu, '\uFFFD').replace(/\0/g, '') : raw;
  if (text.length <= max) return text;
  let out = '';
  let count = 0;
  for (const char of text) {
    if (count++ === max) break;
    out += char;
  }
  return out;
}

/** sub1…sub5 of a click: the query's values where given, else the link's defaults. */
export function clickSubIds(query: unknown, defaults: SubValues): SubValues {
  const given = (query ?? {}) as Record<string, unknown>;
  const values = {} as SubValues;
  for (const key of SUB_IDS) values[key] = cleanText(given[key], SUB_ID_MAX_LENGTH) ?? defaults[key];
  return values;
}

export interface ClickClient {
  ip: string | null;
  userAgent: string | null;
  referrer: string | null;
}

/** Who clicked: the client IP (Fastify's, behind trusted proxies) if it is an IP at all, UA and referrer. */
export function clickClient(ip: string | undefined, headers: Record<string, string | string[] | undefined>): ClickClient {
  return {
    ip: ip && isIP(ip) ? ip : null,
    userAgent: cleanText(headers['user-agent'], USER_AGENT_MAX),
    referrer: cleanText(headers['referer'], REFERRER_MAX),
  };
}
