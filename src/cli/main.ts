/**
 * `nameserver-admin`: the operator's command line for the NameServer's Admin and RouteQuery services.
 * `npx nameserver-admin --help`, `npm run admin -- --help`, or `node --import tsx src/cli/main.ts`.
 * Commands are defined in commands.ts, gRPC plumbing is in rpc.ts, human output in format.ts; exit
 * codes (errors.ts) are a contract for scripts.
 */
import { status } from '@grpc/grpc-js';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { COMMANDS, intIn, type CommandDef, type Context } from './commands';
import { CliError, EXIT, EXIT_CODES_HELP, UsageError, describeStatus, exitCodeForStatus } from './errors';
import { isServiceError, parseServers, Rpc } from './rpc';
import { SERVER_VERSION } from '../shared/version';

/** The version printed by --version (the package's). */
export const CLI_VERSION: string = SERVER_VERSION;

/** Where output goes (stdout/stderr by default; tests of the library API may capture it). */
export interface Io {
  out(text: string): void;
  err(text: string): void;
}

const STDIO: Io = {
  out: (t) => void process.stdout.write(`${t}\n`),
  err: (t) => void process.stderr.write(`${t}\n`),
};

/** Global options, as commander parses them. */
interface Globals {
  server: string;
  token?: string;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  tls?: boolean;
  timeoutMs: number;
  json?: boolean;
}

function positiveMs(v: string): number {
  try {
    return intIn(1, 3_600_000)(v);
  } catch {
    throw new InvalidArgumentError('must be a whole number of milliseconds in 1..3600000');
  }
}

function buildProgram(io: Io, interrupted: Promise<void>, onCode: (code: number) => void): Command {
  const program = new Command('nameserver-admin')
    .description('Inspect and change a NameServer cluster (Admin and RouteQuery gRPC services).')
    .addOption(
      new Option('-s, --server <host:port,...>', 'NameServer address; several comma-separated: tried in order when one is unavailable (check-replicas compares them)')
        .env('NAMESERVER_ADDR')
        .default('127.0.0.1:9876'),
    )
    .addOption(new Option('--token <token>', 'admin bearer token, sent as "authorization: Bearer <token>"').env('NAMESERVER_ADMIN_TOKEN'))
    .addOption(new Option('--tls-ca <file>', 'connect with TLS, trusting this PEM CA bundle').env('NAMESERVER_ADMIN_TLS_CA'))
    .addOption(new Option('--tls-cert <file>', 'client certificate for mutual TLS (PEM, with --tls-key)').env('NAMESERVER_ADMIN_TLS_CERT'))
    .addOption(new Option('--tls-key <file>', 'private key of --tls-cert (PEM)').env('NAMESERVER_ADMIN_TLS_KEY'))
    .addOption(new Option('--tls', 'connect with TLS, trusting the system CAs'))
    .addOption(new Option('--timeout-ms <ms>', 'deadline of each call').argParser(positiveMs).default(10_000))
    .addOption(new Option('--json', 'machine output: the response message as proto JSON (streams: one JSON object per line)'))
    .version(CLI_VERSION, '-V, --version', 'print the version and exit')
    .configureHelp({ showGlobalOptions: true })
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', `\n${EXIT_CODES_HELP}\n\nEnvironment: NAMESERVER_ADDR, NAMESERVER_ADMIN_TOKEN, NAMESERVER_ADMIN_TLS_CA, NAMESERVER_ADMIN_TLS_CERT, NAMESERVER_ADMIN_TLS_KEY.`)
    .configureOutput({ writeOut: (s) => io.out(s.replace(/\n$/, '')), writeErr: (s) => io.err(s.replace(/\n$/, '')) })
    .exitOverride();

  for (const def of COMMANDS) addCommand(program, def, io, interrupted, onCode);
  return program;
}

function addCommand(program: Command, def: CommandDef, io: Io, interrupted: Promise<void>, onCode: (code: number) => void): void {
  const cmd = program.command(def.name).description(def.summary);
  for (const a of def.args ?? []) cmd.argument(a);
  for (const o of def.options ?? []) {
    const opt = new Option(o.flags, o.help);
    if (o.parse) opt.argParser(o.parse as (v: string, prev: unknown) => unknown);
    if (o.defaultValue !== undefined) opt.default(o.defaultValue);
    cmd.addOption(opt);
  }
  cmd.addHelpText('after', `${def.help ? `\n${def.help}\n` : ''}\nExit codes: 0 ok, 1 usage, 2 not found, 3 write incomplete/conflict, 4 unavailable, 5 auth, 6 replicas inconsistent, 10 other (details: nameserver-admin --help).`);
  cmd.action(async (...received: unknown[]) => {
    const self = received[received.length - 1] as Command;
    const g = self.optsWithGlobals<Globals>();
    const rpc = new Rpc({
      servers: parseServers(g.server),
      token: g.token ?? '',
      tlsCa: g.tlsCa ?? '',
      tlsCert: g.tlsCert ?? '',
      tlsKey: g.tlsKey ?? '',
      tls: g.tls === true,
      timeoutMs: g.timeoutMs,
    });
    const ctx: Context = { rpc, json: g.json === true, out: io.out, err: io.err, interrupted };
    try {
      const args = self.processedArgs.flat().filter((a): a is string => typeof a === 'string');
      onCode(await def.run(ctx, args, self.opts()));
    } catch (err) {
      // Say which server could not be reached.
      if (isServiceError(err) && (err.code === status.UNAVAILABLE || err.code === status.DEADLINE_EXCEEDED)) {
        err.details = `${err.details.replace(/[\s.]*Resolution note:.*$/s, '')} (server ${rpc.options.servers.join(',')})`;
      }
      throw err;
    } finally {
      rpc.close();
    }
  });
}

/** Print an error the way scripts expect ("error: <STATUS>: <details>") and pick the exit code. */
export function reportError(err: unknown, io: Io): number {
  if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE; // commander printed it
  if (err instanceof UsageError) {
    io.err(`error: ${err.message}`);
    return EXIT.USAGE;
  }
  if (err instanceof CliError) {
    io.err(`error: ${err.message}`);
    return err.exitCode;
  }
  if (isServiceError(err)) {
    io.err(`error: ${describeStatus(err)}`);
    return exitCodeForStatus(err.code);
  }
  io.err(`error: ${err instanceof Error ? err.message : String(err)}`);
  return EXIT.OTHER;
}

/** Run the CLI with `argv` (process.argv form); resolves with the exit code. */
export async function run(argv: string[], io: Io = STDIO, interrupted: Promise<void> = new Promise<void>(() => undefined)): Promise<number> {
  let code: number = EXIT.OK;
  const program = buildProgram(io, interrupted, (c) => (code = c));
  try {
    await program.parseAsync(argv);
  } catch (err) {
    return reportError(err, io);
  }
  return code;
}

/** Process entry: signals end streams, stdout closing early (| head) is not an error. */
export function main(argv: string[] = process.argv): void {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(EXIT.OK);
  });
  const interrupted = new Promise<void>((resolve) => {
    const stop = () => {
      resolve(); // streams end cleanly (exit 0)...
      setTimeout(() => process.exit(EXIT.INTERRUPTED), 500).unref(); // ...a pending unary call does not wait
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  void run(argv, STDIO, interrupted).then((code) => {
    process.exitCode = code;
    // Channels are closed; if anything still holds the event loop, do not hang.
    setTimeout(() => process.exit(code), 2_000).unref();
  });
}

if (require.main === module) main();
