import { errors } from '../errors.js';

/** A position in the newest-first listing: the last row of a page, by (createdAt, id). */
export interface ListPosition {
  createdAtMs: number;
  id: string;
}

const ID = /^[0-9a-f-]{36}$/;

/**
 * Cursors are opaque to clients (base64url of `<ms>.<id>`) so the ordering key can change without
 * breaking them; a cursor carries no secrets, it only says where the previous page ended.
 */
export function encodeCursor(pos: ListPosition): string {
  return Buffer.from(`${pos.createdAtMs}.${pos.id}`, 'utf8').toString('base64url');
}

/** Throws the client error BAD_CURSOR for anything this server did not hand out. */
export function decodeCursor(cursor: string): ListPosition {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(cursor)) throw errors.badCursor();
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const m = /^(\d{1,16})\.(.+)$/.exec(text);
  if (!m?.[1] || !m[2] || !ID.test(m[2])) throw errors.badCursor();
  const createdAtMs = Number(m[1]);
  if (!Number.isSafeInteger(createdAtMs)) throw errors.badCursor();
  return { createdAtMs, id: m[2] };
}

/** Escapes LIKE wildcards so a search for `50%` or `a_b` matches those characters literally. */
export function likeContains(q: string): string {
  return `%${q.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}
