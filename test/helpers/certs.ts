/**
 * Throw-away certificates for TLS tests, made with the openssl CLI in a temp directory: a CA, a server
 * certificate for 127.0.0.1/localhost, a client certificate from the same CA, and a second ("rogue")
 * CA with its own client certificate.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** Paths (and contents) of the generated files. */
export interface TestPki {
  dir: string;
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  rogueCaCert: string;
  rogueClientCert: string;
  rogueClientKey: string;
  /** A server certificate from the CA that expired yesterday. */
  expiredServerCert: string;
  expiredServerKey: string;
  /** A client certificate from the CA that expired yesterday. */
  expiredClientCert: string;
  expiredClientKey: string;
  read(file: string): Buffer;
}

function ossl(dir: string, ...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

function makeCa(dir: string, name: string): void {
  ossl(dir, 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '2', '-subj', `/CN=${name}`);
}

/** A leaf certificate signed by `ca`; days -1 makes one that expired yesterday. */
function makeLeaf(dir: string, ca: string, name: string, ext: string, days = 2): void {
  writeFileSync(path.join(dir, `${name}.ext`), ext);
  ossl(dir, 'req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
  ossl(dir, 'x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.crt`, '-days', String(days), '-extfile', `${name}.ext`);
}

/** Generate a fresh PKI (a few hundred ms). */
export function makePki(): TestPki {
  const dir = mkdtempSync(path.join(tmpdir(), 'ns-pki-'));
  makeCa(dir, 'ca');
  makeCa(dir, 'rogue-ca');
  makeLeaf(dir, 'ca', 'server', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  makeLeaf(dir, 'ca', 'client', 'extendedKeyUsage=clientAuth\n');
  makeLeaf(dir, 'rogue-ca', 'rogue-client', 'extendedKeyUsage=clientAuth\n');
  makeLeaf(dir, 'ca', 'expired-server', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n', -1);
  makeLeaf(dir, 'ca', 'expired-client', 'extendedKeyUsage=clientAuth\n', -1);
  const p = (f: string) => path.join(dir, f);
  return {
    dir,
    caCert: p('ca.crt'),
    serverCert: p('server.crt'),
    serverKey: p('server.key'),
    clientCert: p('client.crt'),
    clientKey: p('client.key'),
    rogueCaCert: p('rogue-ca.crt'),
    rogueClientCert: p('rogue-client.crt'),
    rogueClientKey: p('rogue-client.key'),
    expiredServerCert: p('expired-server.crt'),
    expiredServerKey: p('expired-server.key'),
    expiredClientCert: p('expired-client.crt'),
    expiredClientKey: p('expired-client.key'),
    read: (file: string) => readFileSync(file),
  };
}
