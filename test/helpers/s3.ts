import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import S3rver from 's3rver';

export const TEST_BUCKET = 'ams-test';

// s3rver checks no signatures, but the SDK needs some credentials to sign with (read from the standard chain).
process.env.AWS_ACCESS_KEY_ID ??= 'S3RVER';
process.env.AWS_SECRET_ACCESS_KEY ??= 'S3RVER';

export interface TestS3 {
  endpoint: string;
  port: number;
  /** The AMS_* settings that point a server at this bucket. */
  env(prefix?: string): Record<string, string>;
  /** Stops the server; its data survives for `start()` on the same port (an outage, then recovery). */
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

/** An S3-compatible server (s3rver) on loopback, with an empty bucket, in a temp directory. */
export async function startS3(): Promise<TestS3> {
  const directory = await fs.mkdtemp(path.join(os.tmpdir(), 'ams-s3-'));
  let port = 0;
  let server: S3rver | null = null;
  const start = async () => {
    server = new S3rver({ address: '127.0.0.1', port, silent: true, directory, configureBuckets: [{ name: TEST_BUCKET }] });
    port = (await server.run()).port;
  };
  const stop = async () => {
    await server?.close();
    server = null;
  };
  await start();
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    port,
    env: (prefix = '') => ({
      AMS_STORAGE: 's3',
      AMS_S3_BUCKET: TEST_BUCKET,
      AMS_S3_ENDPOINT: endpoint,
      AMS_S3_FORCE_PATH_STYLE: 'true',
      AMS_S3_PREFIX: prefix,
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
    }),
    stop,
    start,
    async close() {
      await stop();
      await fs.rm(directory, { recursive: true, force: true });
    },
  };
}
