/**
 * The dashboard's files (`@vigil/dashboard`), served on the server's port: `GET /` is its page, `GET /ui/<file>` its
 * scripts and style sheet. The files are read once, at start-up, into a table by name: a request names a file of that
 * table or gets a 404, so no path a client writes ever reaches the file system.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { VigilError } from '../errors.js';
import type { RouteDefinition } from './router.js';

/** Where the dashboard's files are served from. */
export const ASSET_PREFIX = '/ui/';

/**
 * Headers of every dashboard answer. The policy allows this server's own scripts, style sheet and API and nothing
 * else: no inline script or style, no other site, no framing, no form posted anywhere. Whatever an attacker managed
 * to put into an event's fields, the page could not run it nor send anything elsewhere.
 */
export const DASHBOARD_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

interface Asset {
  readonly body: Buffer;
  readonly type: string;
  readonly etag: string;
}

export interface DashboardFiles {
  readonly index: Asset;
  /** By file name, as served under ASSET_PREFIX. */
  readonly assets: ReadonlyMap<string, Asset>;
}

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
};

function asset(file: string): Asset {
  const body = readFileSync(file);
  const type = TYPES[/\.[a-z]+$/.exec(file)![0]]!;
  return { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` };
}

/**
 * Read the dashboard package's page (`static/index.html`), style sheet (`static/*.css`) and compiled scripts
 * (`dist/*.js`). Undefined when the package is not installed or not built.
 */
export function loadDashboardFiles(packageJson?: string): DashboardFiles | undefined {
  const assets = new Map<string, Asset>();
  let index: Asset;
  try {
    const root = dirname(packageJson ?? createRequire(import.meta.url).resolve('@vigil/dashboard/package.json'));
    index = asset(join(root, 'static', 'index.html'));
    for (const [dir, pattern] of [
      ['static', /^[\w-]+\.css$/],
      ['dist', /^[\w-]+\.js$/],
    ] as const) {
      for (const name of readdirSync(join(root, dir)))
        if (pattern.test(name)) assets.set(name, asset(join(root, dir, name)));
    }
  } catch {
    return undefined;
  }
  return { index, assets };
}

function send(req: IncomingMessage, res: ServerResponse, file: Asset): void {
  // Revalidated on every load (a cheap 304 when unchanged): a server upgraded in the middle of an incident must not
  // leave browsers running last version's scripts against this version's API.
  const headers = { ...DASHBOARD_HEADERS, 'cache-control': 'no-cache', etag: file.etag };
  if (req.headers['if-none-match'] === file.etag) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  res.writeHead(200, { ...headers, 'content-type': file.type, 'content-length': file.body.length });
  res.end(req.method === 'HEAD' ? undefined : file.body);
}

/** `GET /`, `GET /ui/:file` (and an empty `/favicon.ico`). Without the dashboard package, both answer a 404 that says so. */
export function dashboardRoutes(files: DashboardFiles | undefined): RouteDefinition[] {
  const missing = () =>
    new VigilError(
      'not_found',
      'the dashboard is not installed: @vigil/dashboard is missing or not built (run npm install)',
      undefined,
      DASHBOARD_HEADERS,
    );
  return [
    {
      method: 'GET',
      path: '/',
      handler: async (req, res) => {
        if (!files) throw missing();
        send(req, res, files.index);
      },
    },
    {
      // Browsers ask for it on their own; the dashboard has none, and a 404 would be an error in every console.
      method: 'GET',
      path: '/favicon.ico',
      handler: async (_req, res) => {
        res.writeHead(204, { ...DASHBOARD_HEADERS, 'cache-control': 'max-age=86400' });
        res.end();
      },
    },
    {
      method: 'GET',
      path: `${ASSET_PREFIX}:file`,
      handler: async (req, res, _url, params) => {
        if (!files) throw missing();
        const file = files.assets.get(params.file!);
        if (!file) throw new VigilError('not_found', 'no such dashboard file', undefined, DASHBOARD_HEADERS);
        send(req, res, file);
      },
    },
  ];
}
