import fs from 'node:fs/promises';
import Fastify from 'fastify';

/**
 * Ceiling for W2: a bare Fastify route answering GET /assets/:id with the same JSON AMS returns,
 * from an in-memory map (no database, no schema, no logging).
 * Usage: node --import tsx bench/bare-fastify.ts <port> <assets.json>
 */
const port = Number(process.argv[2]);
const assets = new Map<string, unknown>(
  (JSON.parse(await fs.readFile(process.argv[3] as string, 'utf8')) as Array<{ id: string }>).map((a) => [a.id, a]),
);
const app = Fastify({ logger: false });
app.get<{ Params: { id: string } }>('/assets/:id', async (req, reply) => {
  const a = assets.get(req.params.id);
  if (a === undefined) return reply.code(404).send({ message: 'not found' });
  return a;
});
await app.listen({ port, host: '127.0.0.1' });
process.stdout.write('listening\n');
