import { Transform, type Readable, type TransformCallback } from 'node:stream';
import type { ByteRange } from './store.js';

/** The first byte offset of a response: from `Content-Range: bytes a-b/n`, else 0 (a 200 with the whole object). */
export function firstByteOf(contentRange: string | undefined): number {
  const m = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(contentRange?.trim() ?? '');
  return m ? Number(m[1]) : 0;
}

/**
 * Cuts exactly `range` out of a response body that starts at byte `firstByte`. HTTP lets a server
 * answer a Range request with more than was asked, or with the whole object (s3rver does so for
 * `bytes=0-0`), but our reply has already promised Content-Length = the range's length.
 */
export function cutRange(body: Readable, firstByte: number, range: ByteRange): Readable {
  let skip = range.start - firstByte;
  let left = range.end - range.start + 1;
  if (skip < 0) throw new Error(`object storage answered from byte ${firstByte}, after the requested ${range.start}`);
  const cut = new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      if (left === 0) return done();
      let part = chunk;
      if (skip > 0) {
        const dropped = Math.min(skip, part.length);
        skip -= dropped;
        part = part.subarray(dropped);
      }
      if (part.length > left) part = part.subarray(0, left);
      left -= part.length;
      if (part.length > 0) this.push(part);
      // Enough bytes: stop downloading the rest of an over-long answer.
      if (left === 0) {
        this.push(null);
        body.unpipe(cut);
        body.destroy();
      }
      done();
    },
  });
  body.on('error', (err) => cut.destroy(err));
  return body.pipe(cut);
}
