import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { Busboy, type BusboyFileStream, type BusboyHeaders } from '@fastify/busboy';

/**
 * Ceiling for W1/W5: the least a multipart upload server can do — node:http + busboy, streaming
 * the file to disk while computing MD5, answering 201 with a small JSON. No fsync, no sniffing,
 * no probing, no database: what AMS does on top is what the ratio measures.
 *
 * With `--durable` it also does what makes AMS's 201 durable and content-addressed, and nothing
 * else: SHA-256 beside MD5, an fsync'd temp file linked to blobs/<aa>/<bb>/<sha256>, the new
 * directories' parents and the blob's directory fsync'd (the syscalls of FsBlobStore.putFile).
 * The gap between the two ceilings is the price of durability on this machine's disk; the gap
 * between this one and AMS is AMS's own work (HTTP framework, sniff, probe, database, logs).
 * Usage: node --import tsx bench/bare-multipart.ts <port> <dir> [--durable]
 */
const port = Number(process.argv[2]);
const dir = process.argv[3] as string;
const durable = process.argv[4] === '--durable';
await fs.mkdir(dir, { recursive: true });

async function fsyncDir(d: string): Promise<void> {
  const h = await fs.open(d, 'r');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

/** Links the fsync'd `file` under its content address and makes the entry durable. */
async function storeDurably(file: string, sha256: string): Promise<void> {
  const leaf = path.join(dir, 'blobs', sha256.slice(0, 2), sha256.slice(2, 4));
  const first = await fs.mkdir(leaf, { recursive: true });
  const parents: string[] = [];
  if (first !== undefined) for (let d = leaf; d !== path.dirname(first); d = path.dirname(d)) parents.push(path.dirname(d));
  await fs.link(file, path.join(leaf, sha256)).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw err;
  });
  await Promise.all([fsyncDir(leaf), ...parents.map(fsyncDir)]);
  await fs.unlink(file);
}

http
  .createServer((req, res) => {
    const bb = new Busboy({ headers: req.headers as BusboyHeaders, limits: { files: 1 } });
    let done: Promise<{ id: string; md5: string; size: number }> | null = null;
    bb.on('file', (_field: string, file: BusboyFileStream) => {
      const md5 = createHash('md5');
      const sha256 = durable ? createHash('sha256') : null;
      let size = 0;
      const id = randomUUID();
      const tap = new Transform({
        transform(chunk: Buffer, _e, cb) {
          md5.update(chunk);
          sha256?.update(chunk);
          size += chunk.length;
          cb(null, chunk);
        },
      });
      const target = path.join(dir, id);
      // `flush`: fsync before close, as AMS's temp file does.
      done = pipeline(file, tap, createWriteStream(target, { highWaterMark: 1024 * 1024, flush: durable })).then(async () => {
        if (sha256 !== null) await storeDurably(target, sha256.digest('hex'));
        else await fs.rm(target); // keep the disk from filling over a long run; the write already happened
        return { id, md5: md5.digest('hex'), size };
      });
    });
    bb.on('finish', async () => {
      try {
        if (done === null) throw new Error('no file');
        const out = await done;
        res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify(out));
      } catch (err) {
        res.writeHead(400).end(String(err));
      }
    });
    req.pipe(bb);
  })
  .listen(port, '127.0.0.1', () => process.stdout.write('listening\n'));
