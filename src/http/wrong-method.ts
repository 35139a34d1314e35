import type { FastifyInstance, HTTPMethods } from 'fastify';
import { errors } from '../errors.js';

/** The order `Allow` lists methods in (RFC 9110 leaves it free; readers expect reads first). */
const ORDER = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];
const rank = (method: string) => (ORDER.includes(method) ? ORDER.indexOf(method) : ORDER.length);

/** The path of a request URL, without its query string. */
export const pathOf = (url: string): string => url.split('?')[0] ?? '/';

/**
 * Which methods a concrete path is served with, asked of Fastify's own router: `findRoute` matches
 * a URL the way a request is routed, so `/images/{id}.jpg` and `/assets/{id}` answer for their
 * patterns with no second list of paths. The methods asked about are those some route declares,
 * learnt as routes are added (so this must be called before any route is). OPTIONS is left out:
 * the CORS catch-all (cors.ts) matches it on every path.
 */
export function routedMethods(app: FastifyInstance): (path: string) => string[] {
  const declared = new Set<string>();
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) if (method !== 'OPTIONS') declared.add(method);
  });
  return (path) => {
    // The router answers a path it cannot decode with its bad-URL handler, which would look like
    // a match for every method; such a path names no resource (renderRouterError: 404).
    try {
      decodeURIComponent(path);
    } catch {
      return [];
    }
    const allowed = [...declared].filter((method) => app.findRoute({ method: method as HTTPMethods, url: path }) !== null);
    // HEAD wherever GET is: Fastify derives a HEAD route from each GET unless one is declared.
    if (allowed.includes('GET') && !allowed.includes('HEAD')) allowed.push('HEAD');
    return allowed.sort((a, b) => rank(a) - rank(b));
  };
}

/**
 * Requests no route matched: a path the service knows, asked with a method it does not serve
 * there (PUT /assets/{id}, POST /images/{id}.jpg), is 405 Method Not Allowed with `Allow`
 * (RFC 9110 §15.5.6); any other path stays 404. Routes that match but find no asset (GET of an
 * unknown id) never come here: they keep the published 404 NOT_FOUND.
 */
export function answerWrongMethods(app: FastifyInstance): (path: string) => string[] {
  const allowedOn = routedMethods(app);
  app.setNotFoundHandler((request) => {
    const path = pathOf(request.url);
    const allowed = allowedOn(path);
    throw allowed.length === 0 ? errors.routeNotFound(request.method, path) : errors.methodNotAllowed(request.method, path, allowed);
  });
  return allowedOn;
}
