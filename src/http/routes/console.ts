import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { errors } from '../../errors.js';
import { pathOf } from '../wrong-method.js';

/**
 * `console/` at the package root. Resolved from this module so `src/` (tsx) and `dist/` (npm start)
 * find the same folder: both sit three levels below the root (…/http/routes/console.*).
 */
export const CONSOLE_DIR = fileURLToPath(new URL('../../../console/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
};

interface StaticFile {
  body: Buffer;
  type: string;
  etag: string;
}

/**
 * Reads the console's files once, at start-up: a handful of small files, and serving only names
 * found in the folder leaves no path to traverse. A missing folder is a broken install: fail loudly.
 */
function loadConsole(dir: string): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  for (const name of fs.readdirSync(dir)) {
    const type = TYPES[path.extname(name)];
    const full = path.join(dir, name);
    if (type === undefined || !fs.statSync(full).isFile()) continue;
    const body = fs.readFileSync(full);
    files.set(name, { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` });
  }
  if (!files.has('index.html')) throw new Error(`the console is not installed: no index.html in ${dir}`);
  return files;
}

// The console loads only its own scripts and styles and talks only to this origin; thumbnails and
// files may come from AMS_PUBLIC_URL (a CDN), hence any source for images and media.
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src * data: blob:; " +
  "media-src * blob:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

export const consoleRoutes: FastifyPluginAsync<{ dir?: string }> = async (app, opts) => {
  const files = loadConsole(opts.dir ?? CONSOLE_DIR);

  const send = (reply: FastifyReply, ifNoneMatch: string | undefined, file: StaticFile) => {
    // Revalidate every time: a new release must not be mixed with a cached older module.
    reply.header('cache-control', 'no-cache').header('etag', file.etag).header('x-content-type-options', 'nosniff');
    reply.header('content-security-policy', CSP).header('referrer-policy', 'no-referrer');
    if (ifNoneMatch === file.etag) return reply.code(304).send();
    return reply.type(file.type).send(file.body);
  };

  // Relative module URLs (./app.js) need the trailing slash.
  app.get('/console', { schema: { hide: true } }, async (_request, reply) => reply.redirect('/console/', 301));
  app.get('/console/', { schema: { hide: true } }, async (request, reply) =>
    send(reply, request.headers['if-none-match'], files.get('index.html')!),
  );
  app.get('/console/:file', { schema: { hide: true } }, async (request, reply) => {
    const file = files.get((request.params as { file: string }).file);
    if (file === undefined) throw errors.routeNotFound(request.method, pathOf(request.url));
    return send(reply, request.headers['if-none-match'], file);
  });
};
