#!/usr/bin/env node
import { Command } from 'commander';
import { registerServe } from './commands/serve.js';
import { registerGc } from './commands/gc.js';
import { registerInfo } from './commands/info.js';
import { registerToken } from './commands/token.js';
import { registerUpload } from './commands/upload.js';
import { registerVerify } from './commands/verify.js';
import { registerMigrateStorage } from './commands/migrate-storage.js';
import { registerMigrate, registerMigrateDb } from './commands/migrate-db.js';
import { registerSignUrl } from './commands/sign-url.js';

/** `ams <command>`: each command lives in its own file under commands/ and registers itself here. */
const program = new Command('ams')
  .description('AMS, the Asset Management Service')
  .showHelpAfterError('(run `ams --help` for the commands)');
registerServe(program);
registerUpload(program);
registerInfo(program);
registerToken(program);
registerVerify(program);
registerGc(program);
registerMigrateStorage(program);
registerMigrate(program);
registerMigrateDb(program);
registerSignUrl(program);

program.parseAsync().catch((err) => {
  process.stderr.write(`ams: ${(err as Error).message}\n`);
  process.exit(1);
});
