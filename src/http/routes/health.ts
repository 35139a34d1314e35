import fs from 'node:fs/promises';
import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import type { BlobStore } from '../../blob/store.js';
import type { AssetRepository } from '../../meta/repository.js';

export interface HealthOptions {
  repo: AssetRepository;
  blobs: BlobStore;
  tempDir: string;
  /** Below this much free space in the temp directory the instance is not ready for uploads. */
  minFreeTempBytes: number;
  /** A deeper database check than the pool's own (e.g. that the SQLite file is still readable). */
  databaseProbe?: () => Promise<void>;
}

type Check = { name: string; run: () => Promise<void> };

async function runCheck(check: Check): Promise<{ ok: boolean; error?: string }> {
  try {
    await check.run();
    return { ok: true };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}

const CheckSchema = Type.Object({ ok: Type.Boolean(), error: Type.Optional(Type.String({ description: 'Why the check failed' })) });
const ReadinessSchema = Type.Object({
  status: Type.Union([Type.Literal('ready'), Type.Literal('unavailable')]),
  checks: Type.Object({ database: CheckSchema, storage: CheckSchema, temp: CheckSchema }),
});

/** `/healthz`: the process answers. `/readyz`: every dependency an upload needs is usable, by name. */
export const healthRoutes: FastifyPluginAsync<HealthOptions> = async (app, opts) => {
  app.get(
    '/healthz',
    { schema: { summary: 'Liveness: the process is up', tags: ['operations'], response: { 200: Type.Object({ status: Type.Literal('ok') }) } } },
    async () => ({ status: 'ok' }),
  );

  const checks: Check[] = [
    { name: 'database', run: async () => (await opts.repo.check(), await opts.databaseProbe?.()) },
    { name: 'storage', run: () => opts.blobs.check() },
    {
      name: 'temp',
      run: async () => {
        await fs.access(opts.tempDir, fs.constants.W_OK);
        const st = await fs.statfs(opts.tempDir);
        const free = st.bavail * st.bsize;
        if (free < opts.minFreeTempBytes) throw new Error(`only ${free} bytes free in the temp directory`);
      },
    },
  ];
  const readiness = {
    summary: 'Readiness: database, storage and temp space, each by name',
    tags: ['operations'],
    response: { 200: { ...ReadinessSchema, description: 'Ready' }, 503: { ...ReadinessSchema, description: 'Not ready: the failed checks say why' } },
  };
  app.get('/readyz', { schema: readiness }, async (_req, reply) => {
    const results = await Promise.all(checks.map(async (c) => [c.name, await runCheck(c)] as const));
    const ready = results.every(([, r]) => r.ok);
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'unavailable', checks: Object.fromEntries(results) });
  });
};
