import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { errors } from '../errors.js';

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * Static bearer tokens. Comparison hashes both sides to equal length and checks every token
 * without stopping at the first match, so timing reveals neither a token's length nor which one.
 */
export function createTokenCheck(tokens: readonly string[]): (request: FastifyRequest) => void {
  const known = tokens.map(digest);
  return (request) => {
    const header = request.headers.authorization;
    if (header === undefined) throw errors.unauthorized('No token was sent');
    const m = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
    if (!m?.[1]) throw errors.unauthorized('The Authorization header is not a Bearer token');
    const presented = digest(m[1]);
    let ok = false;
    for (const k of known) ok = timingSafeEqual(k, presented) || ok;
    if (!ok) throw errors.unauthorized('The token is not valid');
  };
}
