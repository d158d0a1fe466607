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

export type MacroValues = Readonly<Record<string, string | number | null | undefined>>;

/**
 * A template split once into text and macro names, for filling it many times (the click
 * redirect fills its link's landing URL on every click). Fills macros with URL-encoded values:
 * values land only where the template put a macro, and encoding keeps them from adding query
 * parameters, fragments or a new host.
 */
export function compileUrlTemplate(template: string): (values: MacroValues) => string {
  // With the capture group, split() alternates text and macro names: [text, name, text, …, text].
  const parts = template.split(MACRO);
  return (values) => {
    let url = parts[0];
    for (let i = 1; i < parts.length; i += 2) {
      const value = values[parts[i]];
      if (value !== null && value !== undefined) url += encodeURIComponent(String(value));
      url += parts[i + 1];
    }
    return url;
  };
}

export function fillUrlTemplate(template: string, values: MacroValues): string {
  return compileUrlTemplate(template)(values);
}
