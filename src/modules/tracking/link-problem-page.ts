/**
 * What a person following a tracking link sees when it leads nowhere (unknown code, offer gone
 * without a fallback URL): a short page, not the API's JSON. Programs that ask for JSON (no
 * text/html in Accept) still get the error body.
 */
export function wantsPage(accept: string | string[] | undefined): boolean {
  return /\btext\/html\b/.test(String(accept ?? ''));
}

const TEXT: Record<number, { title: string; body: string }> = {
  404: { title: 'This link does not exist', body: 'The address may be mistyped or cut short. Check the link you followed, or go back to the page it came from.' },
  410: { title: 'This offer has ended', body: 'The promotion behind this link is no longer running. Go back to the page the link came from for current offers.' },
};

export function linkProblemPage(status: number): string {
  const { title, body } = TEXT[status] ?? { title: 'This link does not work right now', body: 'Please try again in a moment.' };
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${title}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:15vh auto;padding:0 1.25rem;color:#14213d;line-height:1.5}h1{font-size:1.5rem}p{color:#4b5563}</style></head>
<body><main><h1>${title}</h1><p>${body}</p></main></body></html>
`;
}
