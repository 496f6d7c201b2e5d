/**
 * `npm start [-- options]`: run a NameServer. Options come from flags, environment variables and an
 * optional config file (see options.ts for the precedence); `--help` lists them all.
 */
import { CommanderError } from 'commander';
import { log } from './log';
import { ConfigError, parseConfig } from './options';
import { NameServer } from './server';

/** Parse the command line and run the NameServer until SIGINT or SIGTERM stops it. */
export async function main(): Promise<void> {
  let config;
  try {
    config = parseConfig(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) process.exit(err.exitCode); // commander printed the message or help
    process.stderr.write(`error: ${err instanceof ConfigError ? err.message : String(err)}\n`);
    process.exit(1);
  }
  const server = new NameServer(config);
  try {
    await server.start();
  } catch (err) {
    log.fatal({ err, listen: config.listen }, 'cannot listen');
    process.exit(1);
  }
  const onSignal = (signal: NodeJS.Signals) => {
    log.info({ signal }, 'signal received');
    server.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
}

if (require.main === module) void main();
