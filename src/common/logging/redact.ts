/**
 * What the logs never carry, whatever code logs it: credentials, and who a client is. Used by
 * PinoLoggerService (pino `redact` paths and a last pass over each line) and by anything that
 * logs a URL.
 */
export const CENSOR = '[redacted]';

/** Query parameters whose values are secrets or identify a person. */
const SENSITIVE_PARAM = /^(key|sig|ip|ua|auth|code|client_?ip|user_?agent|remote_?addr|x_forwarded_for|email)$|token|secret|passw|signature|api_?key|session|csrf|cookie/i;
/** A path segment this long and of these characters is a token (invitation links); UUIDs (36) stay. */
const TOKEN_SEGMENT = /^[A-Za-z0-9_-]{40,}$/;

/** `url` with the values of sensitive query parameters and token-like path segments replaced. */
export function redactUrl(url: string): string {
  const queryAt = url.indexOf('?');
  const path = queryAt < 0 ? url : url.slice(0, queryAt);
  const redactedPath = path
    .split('/')
    .map((segment) => (TOKEN_SEGMENT.test(segment) ? CENSOR : segment))
    .join('/');
  if (queryAt < 0) return redactedPath;
  const query = url
    .slice(queryAt + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const name = eq < 0 ? pair : pair.slice(0, eq);
      return eq >= 0 && SENSITIVE_PARAM.test(safeDecode(name)) ? `${name}=${CENSOR}` : pair;
    })
    .join('&');
  return `${redactedPath}?${query}`;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}

/**
 * Fields redacted wherever pino meets them. `err.parameters` and `err.detail` are TypeORM's and
 * PostgreSQL's copies of a failed statement's values (tokens, client IPs, user agents, emails);
 * the statement text itself stays, it helps and holds no values.
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'headers.cookie',
  'headers["x-afflux-signature"]',
  'apiKey',
  'token',
  'secret',
  'password',
  '*.apiKey',
  '*.token',
  '*.secret',
  '*.password',
  '*.postbackToken',
  'err.parameters',
  'err.detail',
  'err.driverError.parameters',
  'err.driverError.detail',
  'url',
  'req.url',
  '*.url',
];

/** pino's censor: URLs keep their shape with the sensitive parts replaced; anything else goes entirely. */
export function censor(value: unknown, path: string[]): unknown {
  return path[path.length - 1] === 'url' && typeof value === 'string' ? redactUrl(value) : CENSOR;
}

/** Secret shapes caught in any text, the last pass over every line: API keys and postback tokens. */
const SECRET_SHAPE = /\b(afx_(?:adm|adv|aff|fin)_|pbt_)[A-Za-z0-9_-]{8,}/g;

export function scrubSecrets(line: string): string {
  return line.replace(SECRET_SHAPE, `$1${CENSOR}`);
}
