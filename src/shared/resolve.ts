/**
 * NameServer address lists: "host:port" entries, where a host name expands to every address it
 * resolves to (a Kubernetes headless Service gives one record per replica). Shared by the client SDK
 * and the broker agent.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { joinHostPort, parseHostPort } from './address';

/**
 * Expand a list of "host:port" (or one comma-separated string) into concrete addresses, resolving
 * host names to all their addresses. Duplicates are removed; order is kept. A name that does not
 * resolve is skipped (and reported through `onError`), so one bad entry does not stop the others.
 */
export async function resolveAddresses(
  input: string | readonly string[],
  onError: (entry: string, err: unknown) => void = () => undefined,
): Promise<string[]> {
  const entries = (typeof input === 'string' ? input.split(',') : input).map((s) => s.trim()).filter(Boolean);
  const out = new Set<string>();
  for (const entry of entries) {
    try {
      const { host, port } = parseHostPort(entry);
      if (isIP(host)) {
        out.add(joinHostPort(host, port));
        continue;
      }
      const found = await lookup(host, { all: true });
      for (const a of found) out.add(joinHostPort(a.address, port));
    } catch (err) {
      onError(entry, err);
    }
  }
  return [...out];
}
