/** Configuration: precedence flag > env > config file > default, and clear errors for bad values. */
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CommanderError } from 'commander';
import { DEFAULT_CONFIG } from '../../src/server/config';
import { ConfigError, closest, parseConfig, unknownEnvironment } from '../../src/server/options';

// npm test sets the log level for the whole run; these tests read the environment themselves.
delete process.env.NAMESERVER_LOG_LEVEL;

const dir = mkdtempSync(path.join(tmpdir(), 'ns-opts-'));
const file = (name: string, text: string) => {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
};
const quiet = { output: { writeOut: () => undefined, writeErr: () => undefined } };
const parse = (...args: string[]) => parseConfig(['node', 'nameserver', ...args], quiet);

afterEach(() => {
  delete process.env.NAMESERVER_LEASE_TTL_MS;
  delete process.env.NAMESERVER_LISTEN;
  delete process.env.NAMESERVER_CONFIG;
});

describe('precedence', () => {
  test('defaults when nothing is given', () => {
    assert.deepEqual(parse(), { ...DEFAULT_CONFIG });
  });

  test('flag > environment > config file > default', () => {
    const f = file('p.yaml', 'lease-ttl-ms: 20000\nlisten: 127.0.0.1:7000\nstream-grace-ms: 500\n');
    assert.equal(parse('--config', f).leaseTtlMs, 20_000);
    assert.equal(parse('--config', f).streamGraceMs, 500);
    process.env.NAMESERVER_LEASE_TTL_MS = '25000';
    assert.equal(parse('--config', f).leaseTtlMs, 25_000, 'env beats file');
    assert.equal(parse('--config', f, '--lease-ttl-ms', '28000').leaseTtlMs, 28_000, 'flag beats env');
    assert.equal(parse('--config', f).listen, '127.0.0.1:7000');
    process.env.NAMESERVER_LISTEN = '127.0.0.1:7001';
    assert.equal(parse('--config', f).listen, '127.0.0.1:7001');
  });

  test('JSON files work too, and the file may come from NAMESERVER_CONFIG', () => {
    process.env.NAMESERVER_CONFIG = file('p.json', JSON.stringify({ 'warmup-ms': 0, 'admin-token': 's3cret' }));
    const c = parse();
    assert.equal(c.warmupMs, 0);
    assert.equal(c.adminToken, 's3cret');
  });
});

describe('errors name the option', () => {
  const fails = (args: string[], pattern: RegExp, type: new (...a: never[]) => Error) =>
    assert.throws(() => parse(...args), (e: unknown) => e instanceof type && pattern.test((e as Error).message));

  test('bad flags', () => {
    fails(['--lease-ttl-ms', '-5'], /--lease-ttl-ms/, CommanderError);
    fails(['--listen', 'nope'], /host:port/, CommanderError);
    fails(['--no-such-flag'], /unknown option/, CommanderError);
  });

  test('bad config files', () => {
    fails(['--config', file('u.yaml', 'lease-ttl: 5\n')], /unknown option "lease-ttl"/, ConfigError);
    fails(['--config', file('v.yaml', 'lease-ttl-ms: soon\n')], /"lease-ttl-ms".*whole number/, ConfigError);
    fails(['--config', file('w.yaml', '- a\n- b\n')], /mapping/, ConfigError);
    fails(['--config', file('x.yaml', 'listen: [1, 2\n')], /config file/, ConfigError);
    fails(['--config', path.join(dir, 'missing.yaml')], /config file/, ConfigError);
  });

  test('inconsistent values', () => {
    fails(['--min-lease-ttl-ms', '5000', '--max-lease-ttl-ms', '1000'], /--min-lease-ttl-ms/, ConfigError);
    fails(['--lease-ttl-ms', '500'], /--lease-ttl-ms \(500\)/, ConfigError);
    fails(['--tls-cert', '/x.pem'], /--tls-cert and --tls-key/, ConfigError);
    fails(['--tls-cert', '/nonexistent.pem', '--tls-key', '/nonexistent.key'], /cannot read \/nonexistent.pem \(--tls-cert\)/, ConfigError);
  });
});

describe('operator help', () => {
  test('a typo in a config-file key names the closest key', () => {
    const f = file('typo.yaml', 'lease-ttl-msec: 1000\n');
    assert.throws(() => parse('--config', f), (e: unknown) => e instanceof ConfigError && /unknown option "lease-ttl-msec"; did you mean "lease-ttl-ms"\?/.test(e.message));
    const far = file('far.yaml', 'colour: blue\n');
    assert.throws(() => parse('--config', far), (e: unknown) => e instanceof ConfigError && /unknown option "colour" \(keys are the flag names/.test(e.message));
  });

  test('unknown NAMESERVER_* variables are reported, with the closest known name; tools\' own variables are not', () => {
    assert.deepEqual(unknownEnvironment({ NAMESERVER_LISTN: 'x', NAMESERVER_LISTEN: 'y', NAMESERVER_HEALTHCHECK_ADDRESS: 'z', NAMESERVER_ADDR: 'a', NAMESERVER_FROBNICATE: '1', PATH: '/bin' }), [
      'NAMESERVER_FROBNICATE',
      'NAMESERVER_LISTN (did you mean NAMESERVER_LISTEN?)',
    ]);
    assert.equal(closest('--max-stream', ['max-streams', 'listen']), 'max-streams');
  });

  test('--log-level takes a pino level, from the flag or NAMESERVER_LOG_LEVEL', () => {
    assert.equal(parse('--log-level', 'debug').logLevel, 'debug');
    process.env.NAMESERVER_LOG_LEVEL = 'error';
    try {
      assert.equal(parse().logLevel, 'error');
    } finally {
      delete process.env.NAMESERVER_LOG_LEVEL;
    }
    assert.throws(() => parse('--log-level', 'loud'), CommanderError);
  });

  test('--help groups the options in sections and ends with examples', () => {
    let help = '';
    try {
      parseConfig(['node', 'nameserver', '--help'], { output: { writeOut: (s) => (help += s), writeErr: () => undefined } });
    } catch (err) {
      assert.ok(err instanceof CommanderError && err.exitCode === 0);
    }
    const headings = help.split('\n').filter((l) => /^[A-Z][\w ()-]*:$/.test(l));
    assert.deepEqual(headings, ['Options:', 'Configuration:', 'Listening:', 'TLS and authentication:', 'Liveness:', 'Limits:', 'Push (WatchRoutes):', 'Operations:', 'Console:', 'Examples:']);
    assert.match(help, /^  nameserver --listen 0\.0\.0\.0:9876 /m);
  });
});
