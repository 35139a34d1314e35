#!/usr/bin/env node
import { configOrExit, exitIfConfigError } from './cli/config.js';
import { runServer } from './server.js';

// `npm start`: config → deps → app → listen (see server.ts).
runServer(configOrExit()).catch((err) => {
  exitIfConfigError(err);
  process.stderr.write(`AMS could not start: ${(err as Error).message}\n`);
  process.exit(1);
});
