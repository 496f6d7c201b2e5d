/**
 * Client-side channel credentials from PEM files, the one way: plaintext, TLS trusting the system CAs
 * or a given CA bundle, and mutual TLS with a client certificate. Used by the CLI, the simulated
 * broker, the health check and the server's own calls to its peers (CheckReplicas).
 */
import { readFileSync } from 'node:fs';
import { credentials, type ChannelCredentials } from '@grpc/grpc-js';

/** PEM files of a client; a file is named by the option a user set it with, for errors. */
export interface ClientTlsFiles {
  /** Use TLS even without a CA bundle (trusting the system CAs). */
  tls?: boolean;
  /** PEM CA bundle to trust. */
  ca?: string;
  /** PEM client certificate (mutual TLS), with `key`. */
  cert?: string;
  /** PEM private key of `cert`. */
  key?: string;
}

/** A credentials problem: a missing pair, or a file that cannot be read (the message names the option). */
export class TlsFileError extends Error {}

/**
 * Credentials from the files: plaintext when nothing is set. `names` are the option names used in
 * error messages (default `--tls-ca`, `--tls-cert`, `--tls-key`).
 */
export function clientCredentials(files: ClientTlsFiles, names: { ca?: string; cert?: string; key?: string } = {}): ChannelCredentials {
  const n = { ca: '--tls-ca', cert: '--tls-cert', key: '--tls-key', ...names };
  if (!files.tls && !files.ca && !files.cert && !files.key) return credentials.createInsecure();
  if (Boolean(files.cert) !== Boolean(files.key)) throw new TlsFileError(`${n.cert} and ${n.key} go together`);
  const read = (file: string | undefined, option: string): Buffer | null => {
    if (!file) return null;
    try {
      return readFileSync(file);
    } catch (err) {
      throw new TlsFileError(`${option}: cannot read ${file}: ${(err as Error).message}`);
    }
  };
  return credentials.createSsl(read(files.ca, n.ca), read(files.key, n.key), read(files.cert, n.cert));
}
