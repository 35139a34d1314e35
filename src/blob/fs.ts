import fsCb, { createReadStream } from 'node:fs';
import { promisify } from 'node:util';
import fs from 'node:fs/promises';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { storageError } from './fs-errors.js';
import { assertSafeKey } from './keys.js';
import type { BlobEntry, BlobInfo, BlobStore, ByteRange } from './store.js';

const openFd = promisify(fsCb.open);
const fsyncFd = promisify(fsCb.fsync);
const closeFd = promisify(fsCb.close);

/**
 * Makes a directory's entries durable. Plain fds rather than a FileHandle: every upload syncs one
 * or more directories, and a FileHandle's setup and close were ~3 % of an upload's main-thread
 * CPU (W1 profile).
 */
async function fsyncDir(dir: string): Promise<void> {
  const fd = await openFd(dir, 'r');
  try {
    await fsyncFd(fd);
  } finally {
    await closeFd(fd);
  }
}

/**
 * Blobs as files under `root`. Atomicity comes from link(2): the file appears under its final
 * name complete or not at all, and an existing name is never overwritten (EEXIST = already stored).
 * `root` and the caller's temp files must be on one filesystem for the link to work.
 */
export class FsBlobStore implements BlobStore {
  private readonly stagingDir: string;
  /**
   * Directories whose creation is still being made durable (their parents' fsyncs), by path. A put
   * that finds such a directory already there waits for them too: otherwise its row could commit
   * while the directory holding its blob can still vanish in a crash.
   */
  private readonly newDirs = new Map<string, Promise<void>>();

  constructor(private readonly root: string) {
    this.stagingDir = path.join(root, '.staging');
  }

  private pathOf(key: string): string {
    assertSafeKey(key);
    return path.join(this.root, ...key.split('/'));
  }

  async putFile(key: string, file: string): Promise<{ created: boolean }> {
    const target = this.pathOf(key);
    const dir = path.dirname(target);
    try {
      const firstCreated = await fs.mkdir(dir, { recursive: true });
      // Registered before anything else is awaited, so a put racing into the new directory sees it.
      if (firstCreated !== undefined) {
        const parents: string[] = [];
        for (let d = dir; d !== path.dirname(firstCreated); d = path.dirname(d)) parents.push(path.dirname(d));
        const durable = Promise.all(parents.map(fsyncDir)).then(() => undefined);
        this.newDirs.set(dir, durable);
        // Settled either way: a failed sync is this put's error (awaited below), not an unhandled one.
        durable.then(
          () => this.newDirs.get(dir) === durable && this.newDirs.delete(dir),
          () => this.newDirs.get(dir) === durable && this.newDirs.delete(dir),
        );
      }
      try {
        await fs.link(file, target);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
          // Already stored, perhaps as an old orphan that `ams gc` is about to collect: refreshing
          // its mtime puts it back inside gc's grace period until this upload's row is committed.
          const now = new Date();
          await fs.utimes(target, now, now).catch(() => {});
          // The put that linked it may not have made its entry durable yet; this upload's row must
          // not commit before it is.
          await Promise.all([fsyncDir(dir), this.newDirs.get(dir)]);
          return { created: false };
        }
        throw err;
      }
      // The new directory entry must survive a crash before the row that points at it is committed,
      // and so must the entries of directories made for it (most uploads to a young store make
      // their originals/ab/cd/): without them a crash could lose the directory, blob and all.
      await Promise.all([fsyncDir(dir), this.newDirs.get(dir)]);
      return { created: true };
    } catch (err) {
      throw storageError(err);
    }
  }

  async put(key: string, body: Readable, info: BlobInfo): Promise<{ created: boolean }> {
    const staging = path.join(this.stagingDir, `${randomUUID()}.part`);
    try {
      await fs.mkdir(this.stagingDir, { recursive: true });
      // Opened before piping: a lazily opened stream could create the file after a failed
      // pipeline's cleanup below had already run, leaving a stray .part behind.
      const out = (await fs.open(staging, 'wx')).createWriteStream();
      await pipeline(body, out);
      const handle = await fs.open(staging, 'r');
      try {
        const { size } = await handle.stat();
        if (size !== info.size) throw new Error(`blob ${key}: wrote ${size} bytes, expected ${info.size}`);
        await handle.sync();
      } finally {
        await handle.close();
      }
      return await this.putFile(key, staging);
    } catch (err) {
      body.destroy();
      throw storageError(err);
    } finally {
      await fs.rm(staging, { force: true });
    }
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(this.pathOf(key), 'r');
    } catch (err) {
      throw storageError(err, key);
    }
    return createReadStream('', { fd: handle, start: range?.start, end: range?.end, highWaterMark: 256 * 1024 });
  }

  localFile(key: string): string {
    return this.pathOf(key);
  }

  async toolUrl(): Promise<null> {
    return null;
  }

  async stat(key: string): Promise<{ size: number }> {
    try {
      const st = await fs.stat(this.pathOf(key));
      return { size: st.size };
    } catch (err) {
      throw storageError(err, key);
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await fs.rm(this.pathOf(key), { force: true });
    } catch (err) {
      throw storageError(err);
    }
  }

  async directUrl(): Promise<string | null> {
    return null;
  }

  async *list(prefix: string): AsyncIterable<BlobEntry> {
    const walk = async function* (dir: string, rel: string): AsyncIterable<BlobEntry> {
      let entries;
      try {
        entries = await fs.readdir(dir, { withFileTypes: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw storageError(err);
      }
      for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
        if (e.name.startsWith('.')) continue;
        const key = rel === '' ? e.name : `${rel}/${e.name}`;
        if (e.isDirectory()) {
          if (key.startsWith(prefix) || prefix.startsWith(`${key}/`)) yield* walk(path.join(dir, e.name), key);
        } else if (e.isFile() && key.startsWith(prefix)) {
          const st = await fs.stat(path.join(dir, e.name));
          yield { key, size: st.size, modifiedAt: st.mtime };
        }
      }
    };
    yield* walk(this.root, '');
  }

  async check(): Promise<void> {
    try {
      await fs.mkdir(this.root, { recursive: true });
      await fs.access(this.root, fs.constants.W_OK | fs.constants.R_OK);
    } catch (err) {
      throw storageError(err);
    }
  }
}
