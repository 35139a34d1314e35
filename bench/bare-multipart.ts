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
 * Usage: node --import tsx bench/bare-multipart.ts <port> <dir>
 */
const port = Number(process.argv[2]);
const dir = process.argv[3] as string;
await fs.mkdir(dir, { recursive: true });

http
  .createServer((req, res) => {
    const bb = new Busboy({ headers: req.headers as BusboyHeaders, limits: { files: 1 } });
    let done: Promise<{ id: string; md5: string; size: number }> | null = null;
    bb.on('file', (_field: string, file: BusboyFileStream) => {
      const md5 = createHash('md5');
      let size = 0;
      const id = randomUUID();
      const tap = new Transform({
        transform(chunk: Buffer, _e, cb) {
          md5.update(chunk);
          size += chunk.length;
          cb(null, chunk);
        },
      });
      const target = path.join(dir, id);
      done = pipeline(file, tap, createWriteStream(target, { highWaterMark: 1024 * 1024 })).then(async () => {
        await fs.rm(target); // keep the disk from filling over a long run; the write already happened
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
