import { createRemoteJWKSet, errors as joseErrors, importSPKI, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { OpsConfig } from '../config.js';
import { AmsError, errors } from '../errors.js';

/**
 * Only asymmetric algorithms: a verifier that also accepted HS256 could be fooled into using the
 * public key as an HMAC secret (algorithm confusion). `none` is never accepted by jose's jwtVerify.
 */
const ASYMMETRIC = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

export type JwtVerifier = (token: string) => Promise<JWTPayload>;

/** A compact JWS: three base64url segments. Anything else is treated as a static token. */
export const looksLikeJwt = (token: string) => /^[\w-]+\.[\w-]+\.[\w-]*$/.test(token);

/** Scopes from `scope` (space-separated, RFC 8693) or `scp` (array or string, as some IdPs send). */
function scopesOf(payload: JWTPayload): string[] {
  const out: string[] = [];
  for (const claim of [payload.scope, payload.scp]) {
    if (typeof claim === 'string') out.push(...claim.split(/\s+/));
    else if (Array.isArray(claim)) out.push(...claim.filter((s): s is string => typeof s === 'string'));
  }
  return out;
}

/** Why a token was refused, in words a client can act on; never the key material. */
function reason(err: unknown): string {
  if (err instanceof joseErrors.JWTExpired) return 'The token has expired';
  if (err instanceof joseErrors.JWTClaimValidationFailed) return `The token's "${err.claim}" claim is not accepted`;
  if (err instanceof joseErrors.JWKSNoMatchingKey) return 'The token is signed by an unknown key';
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return 'The token is signed with an algorithm that is not accepted';
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return 'The token signature is not valid';
  return 'The token is not valid';
}

/** null when neither a JWKS URL nor a public key is configured (static tokens only). */
export async function createJwtVerifier(jwt: OpsConfig['jwt']): Promise<JwtVerifier | null> {
  let key: JWTVerifyGetKey | Awaited<ReturnType<typeof importSPKI>>;
  if (jwt.jwksUrl !== null) {
    key = createRemoteJWKSet(new URL(jwt.jwksUrl), { timeoutDuration: 5000, cooldownDuration: 30_000 });
  } else if (jwt.publicKeyPem !== null) {
    const pem = jwt.publicKeyPem;
    // The PEM does not say which algorithm; try the families in turn, RSA first (the usual one).
    key = await importSPKI(pem, 'RS256').catch(() => importSPKI(pem, 'ES256')).catch(() => importSPKI(pem, 'EdDSA'));
  } else {
    return null;
  }
  return async (token) => {
    try {
      const { payload } = await jwtVerify(token, key as JWTVerifyGetKey, {
        algorithms: ASYMMETRIC,
        issuer: jwt.issuer ?? undefined,
        audience: jwt.audience ?? undefined,
        clockTolerance: jwt.clockSkewS,
        requiredClaims: ['exp'],
      });
      if (jwt.requiredScope !== null && !scopesOf(payload).includes(jwt.requiredScope)) {
        throw errors.insufficientScope(jwt.requiredScope);
      }
      return payload;
    } catch (err) {
      if (err instanceof AmsError) throw err;
      // The identity provider's keys could not be fetched: the token may well be valid, so this
      // is our outage (503, retry), not the client's fault (401, get a new token).
      if (err instanceof joseErrors.JWKSTimeout || err instanceof joseErrors.JWKSInvalid || !(err instanceof joseErrors.JOSEError)) {
        throw errors.identityUnavailable();
      }
      throw errors.unauthorized(reason(err));
    }
  };
}
