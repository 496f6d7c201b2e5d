/**
 * `npm start [-- options]`: run a NameServer. Options come from flags, environment variables and an
 * optional config file (see options.ts for the precedence); `--help` lists them all.
 */
import { CommanderError } from 'commander';
import { log } from './log';
import { ConfigError, parseConfig, unknownEnvironment } from './options';
import { NameServer } from './server';

/** Exit code of a usage error (bad flag, bad value, bad config file), as for most command-line tools. */
const EXIT_USAGE = 2;

/** Why the server could not start listening, in words ("127.0.0.1:9876 is already in use ..."). */
function listenFailure(err: unknown, listen: string, httpListen: string): string {
  const e = err as NodeJS.ErrnoException & { details?: string };
  const text = `${e.code ?? ''} ${e.message ?? ''} ${e.details ?? ''}`;
  const address = /\b(?:port|address)\b.*\b9877\b/.test(text) || (httpListen && text.includes(httpListen)) ? httpListen : listen;
  if (/EADDRINUSE|address already in use/i.test(text)) return `${address} is already in use (another NameServer or program listens there); stop it or choose another address with --listen`;
  if (/EACCES|permission denied/i.test(text)) return `not allowed to listen on ${address} (ports below 1024 need privileges); choose another address with --listen`;
  if (/EADDRNOTAVAIL|ENOTFOUND|EAI_AGAIN/i.test(text)) return `cannot listen on ${address}: no such local address; use one of this host's addresses, or 0.0.0.0`;
  return `cannot listen on ${address}: ${(e.message ?? String(err)).split('\n')[0]}`;
}

/** Parse the command line and run the NameServer until SIGINT or SIGTERM stops it. */
export async function main(): Promise<void> {
  let config;
  try {
    config = parseConfig(process.argv);
  } catch (err) {
    // --help and --version exit 0; a usage error (commander printed one line and the hint) exits 2.
    if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : EXIT_USAGE);
    process.stderr.write(`error: ${err instanceof ConfigError ? err.message : String(err)}\n(see nameserver --help)\n`);
    process.exit(EXIT_USAGE);
  }
  log.level = config.logLevel;
  for (const name of unknownEnvironment()) log.warn({ variable: name.split(' ')[0] }, `unknown environment variable ${name}: no option reads it`);
  const server = new NameServer(config);
  try {
    await server.start();
  } catch (err) {
    const message = listenFailure(err, config.listen, config.httpListen);
    log.fatal({ listen: config.listen, code: (err as NodeJS.ErrnoException).code }, message);
    process.stderr.write(`error: ${message}\n`);
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
