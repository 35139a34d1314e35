import type { Command } from 'commander';
import { runServer } from '../../server.js';
import { configOrExit, exitIfConfigError } from '../config.js';

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the HTTP service (configured by AMS_* environment variables; see README)')
    .action(async () => {
      await runServer(configOrExit()).catch((err) => {
        exitIfConfigError(err);
        throw err;
      });
    });
}
