export const LANDING_MACROS = ['click_id', 'affiliate_id', 'offer_id', 'sub1', 'sub2', 'sub3', 'sub4', 'sub5'] as const;

const MACRO = /\{([a-z0-9_]+)\}/g;

/** Null when `template` is an http(s) URL whose only macros are `allowed`; otherwise why not. */
export function validateUrlTemplate(template: string, allowed: readonly string[]): string | null {
  for (const [, name] of template.matchAll(MACRO)) {
    if (!allowed.includes(name)) return `uses the unknown macro {${name}}; known: ${allowed.map((m) => `{${m}}`).join(' ')}`;
  }
  let url: URL;
  try {
    url = new URL(template.replace(MACRO, 'x'));
  } catch {
    return 'must be an absolute http(s) URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'must be an absolute http(s) URL';
  // A macro in the host would let whoever fills it (a click's sub ids) pick where the URL leads.
  if (/\{/.test(/^[a-z]+:\/\/([^/?#]*)/i.exec(template)?.[1] ?? '')) return 'must not use a macro in the host: macros fill the path, query or fragment';
  if (/[\s<>"]/.test(template)) return 'must not contain spaces, quotes or angle brackets';
  return null;
}

/**
 * Fills macros with URL-encoded values. Values land only where the template put a macro, and
 * encoding keeps them from adding query parameters, fragments or a new host.
 */
export function fillUrlTemplate(template: string, values: Readonly<Record<string, string | number | null | undefined>>): string {
  return template.replace(MACRO, (_, name: string) => {
    const value = values[name];
    return value === null || value === undefined ? '' : encodeURIComponent(String(value));
  });
}
