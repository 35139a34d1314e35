import type { IncomingHttpHeaders } from 'node:http';
import { errors } from '../errors.js';
import type { ReceivedFile } from '../ingest/receive.js';

const B64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * The sha-256 member of an RFC 9530 digest field (a structured-field dictionary such as
 * `sha-256=:base64:, sha-512=:…:`), as hex. Algorithms we do not compute are ignored, as the RFC
 * allows; a field we cannot parse is refused rather than silently skipped.
 */
function sha256Member(value: string, header: string): string | null {
  let found: string | null = null;
  for (const member of value.split(',')) {
    const m = /^\s*([a-z0-9-]+)\s*=\s*:([A-Za-z0-9+/]*={0,2}):\s*$/i.exec(member);
    if (!m?.[1] || m[2] === undefined) throw errors.badDigestHeader(header);
    if (m[1].toLowerCase() !== 'sha-256') continue;
    const bytes = Buffer.from(m[2], 'base64');
    if (bytes.length !== 32) throw errors.badDigestHeader(header);
    found = bytes.toString('hex');
  }
  return found;
}

/**
 * Checks the digests a client sent against the received file: `Content-MD5` (base64 MD5) and
 * `Repr-Digest` / `Content-Digest` (sha-256). They are read as digests of the uploaded file's
 * bytes, not of the multipart envelope, because that is what a client can compute and what we
 * store. A mismatch refuses the upload before anything is stored.
 */
export function checkDigests(headers: IncomingHttpHeaders, file: ReceivedFile): void {
  const md5 = headers['content-md5'];
  if (typeof md5 === 'string') {
    const v = md5.trim();
    const bytes = B64.test(v) ? Buffer.from(v, 'base64') : Buffer.alloc(0);
    if (bytes.length !== 16) throw errors.badDigestHeader('Content-MD5');
    if (bytes.toString('hex') !== file.md5) throw errors.digestMismatch('Content-MD5');
  }
  for (const header of ['repr-digest', 'content-digest'] as const) {
    const value = headers[header];
    if (typeof value !== 'string') continue;
    const name = header === 'repr-digest' ? 'Repr-Digest' : 'Content-Digest';
    const sha = sha256Member(value, name);
    if (sha !== null && sha !== file.sha256) throw errors.digestMismatch(name);
  }
}
