/**
 * Pagination over sorted string keys. A page token is the opaque form of the last key served, so the
 * next page resumes after it even if keys were added or removed in between (no duplicates, no gaps
 * for keys that stayed).
 */
import { InvalidArgument } from '../../metadata/errors';

/** Default and largest page sizes of list RPCs. */
export const PAGE_DEFAULT = 100;
export const PAGE_MAX = 1000;

const PREFIX = 'k1:';

/** The token for resuming after `key`. */
export function pageToken(key: string): string {
  return Buffer.from(PREFIX + key, 'utf8').toString('base64url');
}

/** The key a token resumes after; throws InvalidArgument for a token this server did not issue. */
export function parsePageToken(token: string): string {
  const text = Buffer.from(token, 'base64url').toString('utf8');
  if (!text.startsWith(PREFIX) || Buffer.from(text, 'utf8').toString('base64url') !== token) {
    throw new InvalidArgument('page_token', 'is not a token this server issued');
  }
  return text.slice(PREFIX.length);
}

/** Clamp a requested page size (0 = default). */
export function pageSize(requested: number, max = PAGE_MAX, dflt = PAGE_DEFAULT): number {
  return requested <= 0 ? dflt : Math.min(requested, max);
}

/**
 * One page of `sorted` keys that pass `keep`, after the token's key. Binary search to the start, then
 * a scan that stops once the page is full.
 */
export function page<K extends string>(
  sorted: readonly K[],
  size: number,
  token: string,
  keep: (key: K) => boolean = () => true,
): { keys: K[]; nextPageToken: string } {
  let i = 0;
  if (token) {
    const after = parsePageToken(token);
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (sorted[mid]! <= after) lo = mid + 1;
      else hi = mid;
    }
    i = lo;
  }
  const keys: K[] = [];
  for (; i < sorted.length && keys.length < size; i++) if (keep(sorted[i]!)) keys.push(sorted[i]!);
  let more = false;
  for (; i < sorted.length && !more; i++) more = keep(sorted[i]!);
  return { keys, nextPageToken: more ? pageToken(keys[keys.length - 1]!) : '' };
}
