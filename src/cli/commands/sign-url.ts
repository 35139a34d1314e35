import type { Command } from 'commander';
import { signDerivativeUrl } from '../../derivatives/sign-url.js';
import { configOrExit } from '../config.js';

export function registerSignUrl(program: Command): void {
  program
    .command('sign-url')
    .description('print the signed, canonical form of an image derivative or video poster URL (signs with the first of AMS_SIGNING_KEYS)')
    .argument('<url>', 'e.g. "/images/<id>?width=240&format=webp", or a full URL on AMS_PUBLIC_URL')
    .action((url: string) => {
      const config = configOrExit();
      try {
        process.stdout.write(`${signDerivativeUrl(url, config)}\n`);
      } catch (err) {
        // A bad URL is the user's mistake, not a crash: say what is wrong, exit 2 like a bad setting.
        process.stderr.write(`ams sign-url: ${(err as Error).message}\n`);
        process.exit(2);
      }
    });
}
