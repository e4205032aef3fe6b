/**
 * Serves the built web UI (dist/web) from memory. Only files present at start-up are served (no path is
 * ever joined from a request), hashed assets are cached for good, and index.html never.
 * @module
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { applySecurityHeaders } from './security.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json',
};

interface Asset {
  body: Buffer;
  type: string;
  immutable: boolean;
}

/** Reads every file under root into memory; empty when the UI is not built. */
export function loadAssets(root: string): Map<string, Asset> {
  const out = new Map<string, Asset>();
  let files: string[];
  try {
    files = walk(root);
  } catch {
    return out;
  }
  for (const f of files) {
    const rel = relative(root, f).split(sep).join('/');
    out.set(`/${rel}`, { body: readFileSync(f), type: TYPES[extname(f)] ?? 'application/octet-stream', immutable: rel.startsWith('assets/') });
  }
  return out;
}

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else out.push(p);
  }
  return out;
}

/** Registers GET routes for the UI's files. `/` is index.html. */
export function registerStatic(app: FastifyInstance, root: string): void {
  const assets = loadAssets(root);
  const index = assets.get('/index.html');
  app.get('/', async (_req, reply) => {
    if (index === undefined) {
      reply.code(503).type('text/plain; charset=utf-8');
      return `The dashboard's web UI is not built (nothing in ${root}): run \`pnpm --filter @tsdbr/dashboard build\`. The JSON API under /api works meanwhile.\n`;
    }
    reply.type(index.type).header('cache-control', 'no-store');
    return index.body;
  });
  for (const [path, asset] of assets) {
    if (path === '/index.html') continue;
    app.get(path, async (_req, reply) => {
      applySecurityHeaders(reply);
      reply.type(asset.type).header('cache-control', asset.immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
      return asset.body;
    });
  }
}
