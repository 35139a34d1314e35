import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

export interface TokenSource {
  tokens: string[];
  /** Set when this start generated the token (so it is printed once); null otherwise. */
  generated: string | null;
  file: string | null;
}

/**
 * Configured tokens win. With none configured, the first start generates one into
 * `<data>/token` (mode 0600, created exclusively so two processes cannot both write one)
 * and later starts read it back.
 */
export async function resolveTokens(configured: readonly string[], dataDir: string): Promise<TokenSource> {
  if (configured.length > 0) return { tokens: [...configured], generated: null, file: null };
  const file = path.join(dataDir, 'token');
  await fs.mkdir(dataDir, { recursive: true });
  const token = randomBytes(32).toString('base64url');
  try {
    await fs.writeFile(file, `${token}\n`, { mode: 0o600, flag: 'wx' });
    return { tokens: [token], generated: token, file };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  // One token per line: `ams token create` appends, so several clients can hold their own.
  const stored = (await fs.readFile(file, 'utf8')).split('\n').map((l) => l.trim()).filter((l) => l !== '');
  if (stored.length === 0 || stored.some((t) => t.length < 16)) {
    throw new Error(`${file} holds no usable token; delete it to generate a new one`);
  }
  return { tokens: stored, generated: null, file };
}
