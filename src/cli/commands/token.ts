import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { configOrExit } from '../config.js';

export function registerToken(program: Command): void {
  const token = program.command('token').description('manage upload tokens');
  token
    .command('create')
    .description('create a new upload token and add it to <data dir>/token (servers pick it up on restart)')
    .action(async () => {
      const config = configOrExit();
      const value = randomBytes(32).toString('base64url');
      if (config.tokens.length > 0) {
        // AMS_TOKENS wins over the file, so writing there would do nothing.
        process.stdout.write(`${value}\n`);
        process.stderr.write('AMS_TOKENS is set, so the token file is not used: add this token to AMS_TOKENS and restart the server.\n');
        return;
      }
      const file = path.join(config.dataDir, 'token');
      await fs.mkdir(config.dataDir, { recursive: true });
      await fs.appendFile(file, `${value}\n`, { mode: 0o600 });
      process.stdout.write(`${value}\n`);
      process.stderr.write(`added to ${file}; restart the server to accept it\n`);
    });
}
