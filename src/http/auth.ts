import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { errors } from '../errors.js';
import { looksLikeJwt, type JwtVerifier } from './jwt.js';

/** Tokens are compared as SHA-256 digests: equal length, so timing reveals no token's length. */
export const tokenDigest = (s: string) => createHash('sha256').update(s).digest();

/** The token of an `Authorization: Bearer <token>` header; undefined when the header is not one. */
export const bearerTokenOf = (header: string): string | undefined => /^Bearer[ ]+(\S+)\s*$/i.exec(header)?.[1];

/** Who an authenticated request acts for (rate limits, idempotency keys are per principal). */
const principals = new WeakMap<FastifyRequest, string>();
export const principalOf = (request: FastifyRequest): string | undefined => principals.get(request);

/**
 * Static bearer tokens, and JWTs when a verifier is configured. Static comparison hashes both
 * sides to equal length and checks every token without stopping at the first match, so timing
 * reveals neither a token's length nor which one.
 */
export function createTokenCheck(
  tokens: readonly string[],
  jwt: JwtVerifier | null = null,
): (request: FastifyRequest) => void | Promise<void> {
  const known = tokens.map(tokenDigest);
  const staticCheck = (request: FastifyRequest, token: string) => {
    const presented = tokenDigest(token);
    let ok = false;
    for (const k of known) ok = timingSafeEqual(k, presented) || ok;
    if (!ok) throw errors.unauthorized('The token is not valid');
    principals.set(request, `token:${presented.toString('hex').slice(0, 16)}`);
  };
  return (request) => {
    const header = request.headers.authorization;
    if (header === undefined) throw errors.unauthorized('No token was sent');
    const token = bearerTokenOf(header);
    if (!token) throw errors.unauthorized('The Authorization header is not a Bearer token');
    if (jwt === null || !looksLikeJwt(token)) return staticCheck(request, token);
    return jwt(token).then((payload) => {
      principals.set(request, `jwt:${payload.iss ?? ''}:${payload.sub ?? tokenDigest(token).toString('hex').slice(0, 16)}`);
    });
  };
}
