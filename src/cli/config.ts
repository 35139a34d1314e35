import { ConfigError, loadConfig, type Config } from '../config.js';

/** Loads the configuration for a command; a bad setting ends the process with exit code 2, naming it. */
export function configOrExit(): Readonly<Config> {
  try {
    return loadConfig();
  } catch (err) {
    exitIfConfigError(err);
    throw err;
  }
}

/** A setting found unusable later (a data directory that cannot be created, a host to bind): exit 2 too. */
export function exitIfConfigError(err: unknown): void {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\nFix the variables above and start again (see README: Configuration).\n`);
    process.exit(2);
  }
}
