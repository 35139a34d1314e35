import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { SignJWT, exportJWK, exportSPKI, generateKeyPair, type JWK } from 'jose';
import { fixture, json, startServer, upload, type TestServer } from '../helpers/server.js';

const ISSUER = 'https://idp.example.test/';
const AUDIENCE = 'ams';
const b64url = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

describe('JWT bearer tokens verified against a local JWKS server', () => {
  let jwks: Server;
  let server: TestServer;
  let keys: Awaited<ReturnType<typeof generateKeyPair>>;
  let publicJwk: JWK;
  let photo: Buffer;

  const sign = (claims: Record<string, unknown>, opts: { kid?: string; key?: Parameters<SignJWT["sign"]>[0]; alg?: string; exp?: string | number } = {}) =>
    new SignJWT({ scope: 'assets:read assets:write', ...claims })
      .setProtectedHeader({ alg: opts.alg ?? 'RS256', kid: opts.kid ?? 'k1' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setSubject('shop-42')
      .setIssuedAt()
      .setExpirationTime(opts.exp ?? '5m')
      .sign(opts.key ?? keys.privateKey);

  before(async () => {
    keys = await generateKeyPair('RS256', { extractable: true });
    publicJwk = { ...(await exportJWK(keys.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    jwks = createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: [publicJwk] }));
    });
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
    const port = (jwks.address() as AddressInfo).port;
    server = await startServer({
      AMS_JWT_JWKS_URL: `http://127.0.0.1:${port}/.well-known/jwks.json`,
      AMS_JWT_ISSUER: ISSUER,
      AMS_JWT_AUDIENCE: AUDIENCE,
      AMS_JWT_SCOPE: 'assets:write',
    });
    photo = await fixture('photo.jpg');
  });
  after(async () => {
    await server.close();
    await new Promise((resolve) => jwks.close(resolve));
  });

  const refused = async (token: string, status = 401) => {
    const res = await upload(server, photo, { token, filename: 'p.jpg' });
    assert.equal(res.status, status);
    const body = await json(res);
    assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/);
    assert.deepEqual(await server.storedFiles(), [], 'a refused upload stores nothing');
    return body.message as string;
  };

  test('a valid token uploads (201); the static token still works too', async () => {
    const res = await upload(server, photo, { token: await sign({}), filename: 'p.jpg' });
    assert.equal(res.status, 201);
    assert.equal((await json(res)).success, true);
    assert.equal((await upload(server, photo)).status, 201);
    // Clean the store so the refusal cases below can assert that nothing is left behind.
    for (const f of await server.storedFiles()) await import('node:fs/promises').then((fs) => fs.rm(f));
  });

  test('expired → 401 saying so (beyond the 30 s clock skew)', async () => {
    assert.match(await refused(await sign({}, { exp: Math.floor(Date.now() / 1000) - 120 })), /expired/);
  });

  test('an expiry within the clock skew is still accepted', async () => {
    const res = await upload(server, photo, { token: await sign({}, { exp: Math.floor(Date.now() / 1000) - 5 }) });
    assert.equal(res.status, 201);
    for (const f of await server.storedFiles()) await import('node:fs/promises').then((fs) => fs.rm(f));
  });

  test('wrong audience and wrong issuer → 401 naming the claim', async () => {
    const wrongAud = await new SignJWT({ scope: 'assets:write' }).setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setIssuer(ISSUER).setAudience('someone-else').setExpirationTime('5m').sign(keys.privateKey);
    assert.match(await refused(wrongAud), /"aud"/);
    const wrongIss = await new SignJWT({ scope: 'assets:write' }).setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setIssuer('https://evil.example.test/').setAudience(AUDIENCE).setExpirationTime('5m').sign(keys.privateKey);
    assert.match(await refused(wrongIss), /"iss"/);
  });

  test('missing scope → 403 insufficient_scope', async () => {
    const res = await upload(server, photo, { token: await sign({ scope: 'assets:read' }) });
    assert.equal(res.status, 403);
    assert.match(res.headers.get('www-authenticate') ?? '', /insufficient_scope/);
    assert.equal((await json(res)).code, 'INSUFFICIENT_SCOPE');
  });

  test('alg none, HMAC signed with the public key, unknown kid, tampered payload → 401', async () => {
    const claims = { iss: ISSUER, aud: AUDIENCE, sub: 'x', scope: 'assets:write', exp: Math.floor(Date.now() / 1000) + 300 };
    await refused(`${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(claims)}.`);
    // Algorithm confusion: the attacker knows the public key and uses it as an HMAC secret.
    const spki = new TextEncoder().encode(await exportSPKI(keys.publicKey));
    assert.match(await refused(await sign({}, { alg: 'HS256', key: spki })), /algorithm/);
    const other = await generateKeyPair('RS256');
    assert.match(await refused(await sign({}, { kid: 'unknown', key: other.privateKey })), /unknown key|not valid/);
    const [h, , s] = (await sign({})).split('.');
    assert.match(await refused(`${h}.${b64url({ ...claims, sub: 'admin' })}.${s}`), /signature/);
  });
});

describe('JWT bearer tokens verified against a configured public key', () => {
  test('ES256 with AMS_JWT_PUBLIC_KEY: valid → 201; signed by another key → 401; no exp → 401', async () => {
    const keys = await generateKeyPair('ES256', { extractable: true });
    const server = await startServer({ AMS_JWT_PUBLIC_KEY: (await exportSPKI(keys.publicKey)).replace(/\n/g, '\\n') });
    try {
      const photo = await fixture('photo.jpg');
      const good = await new SignJWT({}).setProtectedHeader({ alg: 'ES256' }).setSubject('pos-7').setExpirationTime('5m').sign(keys.privateKey);
      assert.equal((await upload(server, photo, { token: good })).status, 201);
      const other = await generateKeyPair('ES256');
      const forged = await new SignJWT({}).setProtectedHeader({ alg: 'ES256' }).setExpirationTime('5m').sign(other.privateKey);
      assert.equal((await upload(server, photo, { token: forged })).status, 401);
      // A token that never expires is refused: a leaked one would be valid forever.
      const forever = await new SignJWT({}).setProtectedHeader({ alg: 'ES256' }).sign(keys.privateKey);
      assert.equal((await upload(server, photo, { token: forever })).status, 401);
    } finally {
      await server.close();
    }
  });
});

describe('JWT with the identity provider down', () => {
  test('a JWKS that cannot be fetched → 503 with Retry-After (not 401: the token may be fine); static tokens still work', async () => {
    // A port that was just free: nothing listens there.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    const server = await startServer({ AMS_JWT_JWKS_URL: `http://127.0.0.1:${port}/jwks.json` });
    try {
      const keys = await generateKeyPair('RS256');
      const token = await new SignJWT({}).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setExpirationTime('5m').sign(keys.privateKey);
      const photo = await fixture('photo.jpg');
      const res = await upload(server, photo, { token });
      assert.equal(res.status, 503);
      assert.equal(res.headers.get('retry-after'), '5');
      assert.equal((await json(res)).code, 'IDENTITY_UNAVAILABLE');
      assert.equal((await upload(server, photo)).status, 201);
    } finally {
      await server.close();
    }
  });
});
