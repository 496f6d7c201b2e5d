/**
 * The SDKs are exported by the package: after `npm run build`, `mq-nameserver/client` (and the broker
 * agent) load as plain JavaScript, by package name, in a process without tsx.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(__dirname, '..', '..');

test('npm run build emits the SDKs, loadable by package name without tsx', () => {
  execFileSync(path.join(root, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.build.json'], { cwd: root, stdio: 'pipe' });
  const out = execFileSync(
    process.execPath,
    ['-e', "const c = require('mq-nameserver/client'); console.log(typeof c.NameServerClient, typeof c.resolveAddresses)"],
    { cwd: root, encoding: 'utf8' },
  );
  assert.equal(out.trim(), 'function function');
});
