import { Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, constants as zlibConstants, gzipSync } from 'node:zlib';

/** The portal's own files: views and assets beside this module (the build copies them into dist). */
export const PORTAL_DIR = join(__dirname, '..');
export const VIEWS_DIR = join(PORTAL_DIR, 'views');

/** Every file the portal serves, by public name: npm packages' builds and our own two files, nothing else. */
const SOURCES: Record<string, () => string> = {
  'pico.min.css': () => require.resolve('@picocss/pico/css/pico.min.css'),
  'htmx.min.js': () => require.resolve('htmx.org/dist/htmx.min.js'),
  'uPlot.iife.min.js': () => require.resolve('uplot/dist/uPlot.iife.min.js'),
  'uPlot.min.css': () => require.resolve('uplot/dist/uPlot.min.css'),
  'portal.css': () => join(PORTAL_DIR, 'assets', 'portal.css'),
  'portal.js': () => join(PORTAL_DIR, 'assets', 'portal.js'),
};

export interface Asset {
  body: Buffer;
  /** The same bytes compressed once at start, for browsers that accept them. */
  br: Buffer;
  gzip: Buffer;
  type: string;
  version: string;
}

/** Loaded once at start: a missing file stops the start with its path rather than a broken page later. */
@Injectable()
export class PortalAssets {
  private readonly assets = new Map<string, Asset>();

  constructor() {
    if (!existsSync(VIEWS_DIR)) throw new Error(`portal templates not found at ${VIEWS_DIR}: the build must copy src/modules/portal/{views,assets} into dist`);
    for (const [name, locate] of Object.entries(SOURCES)) {
      const body = readFileSync(locate());
      const type = name.endsWith('.css') ? 'text/css; charset=utf-8' : 'text/javascript; charset=utf-8';
      this.assets.set(name, {
        body,
        br: brotliCompressSync(body, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 11 } }),
        gzip: gzipSync(body, { level: 9 }),
        type,
        version: createHash('sha256').update(body).digest('hex').slice(0, 10),
      });
    }
  }

  get(name: string): Asset | undefined {
    return this.assets.get(name);
  }

  /** A URL that changes with the file, so browsers may keep it for a year. */
  url(name: string): string {
    return `/portal/assets/${name}?v=${this.assets.get(name)?.version ?? '0'}`;
  }
}
