/**
 * The third-party tools the tests run against, installed by scripts/install-test-tools.sh (which
 * `npm test` runs first as its `pretest`). A test that needs one and does not find it fails with the
 * command that installs it; it never skips.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..');
export const TOOLS_BIN = path.join(ROOT, '.tools', 'bin');
export const VENV_PYTHON = path.join(ROOT, '.tools', 'venv', 'bin', 'python');

const INSTALL = 'bash scripts/install-test-tools.sh (npm test runs it first)';

/** The path of a tool, or an error naming the command that installs it. */
export function tool(name: 'grpcurl' | 'kustomize' | 'protoc-gen-go' | 'protoc-gen-go-grpc' | 'python' | 'chromium'): string {
  const file = name === 'python' ? VENV_PYTHON : name === 'chromium' ? '/usr/bin/chromium' : path.join(TOOLS_BIN, name);
  if (!existsSync(file)) throw new Error(`${name} is not installed at ${path.relative(ROOT, file) || file}: run ${INSTALL}`);
  return file;
}
