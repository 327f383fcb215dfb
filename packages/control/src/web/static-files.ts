/**
 * The fixed table of web files (console, diagnostics page, demo call and their assets) and their
 * first-use cache. Only names in this table are ever read: request paths are matched against it
 * exactly and never joined onto a directory, so no request can reach another file.
 * @module
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** Where the asset files live: two levels above this module (src/web and dist/web alike). */
const ASSETS_DIR = new URL('../../assets/', import.meta.url);

/** Prefix of every asset URL; pages reference assets as `/console/assets/<file>`. */
export const ASSET_PREFIX = '/console/assets/';

/** Page URL paths and the file each one serves. */
export const PAGE_FILES: ReadonlyMap<string, string> = new Map([
  ['/console', 'console.html'],
  ['/console/', 'console.html'],
  ['/diagnostics', 'diagnostics.html'],
  ['/demo', 'demo.html'],
]);

/** Asset file names served under {@link ASSET_PREFIX}. */
export const ASSET_FILES: readonly string[] = [
  'style.css',
  'favicon.svg',
  'common.js',
  'console.js',
  'console-apps.js',
  'console-app-detail.js',
  'console-reservations.js',
  'console-credentials.js',
  'console-live.js',
  'console-reports.js',
  'chart.js',
  'diagnostics.js',
  'diag-servers.js',
  'diag-gather.js',
  'diag-relay.js',
  'demo.css',
  'demo.js',
  'demo-call.js',
];

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
};

/** One file as served: its bytes, media type and a strong ETag. */
export interface StaticFile {
  readonly body: Buffer;
  readonly contentType: string;
  readonly etag: string;
}

const cache = new Map<string, StaticFile>();

/** The media type of a file name from the table (by extension). */
export function contentTypeOf(name: string): string {
  const ext = name.slice(name.lastIndexOf('.') + 1);
  const type = CONTENT_TYPES[ext];
  if (type === undefined) throw new Error(`web file ${name}: no content type for '.${ext}'`);
  return type;
}

/**
 * The file `name` (which must come from {@link PAGE_FILES} or {@link ASSET_FILES}), read from the
 * assets directory on first use and kept in memory afterwards. Throws if the file is missing.
 */
export function loadStaticFile(name: string): StaticFile {
  const cached = cache.get(name);
  if (cached) return cached;
  const body = readFileSync(new URL(name, ASSETS_DIR));
  const digest = createHash('sha256').update(body).digest('base64url').slice(0, 27);
  const file: StaticFile = { body, contentType: contentTypeOf(name), etag: `"${digest}"` };
  cache.set(name, file);
  return file;
}
