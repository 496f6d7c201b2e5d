/**
 * "host:port", the one way: parsing (hostname, dotted IPv4, or bracketed IPv6 as in `[::1]:9876`),
 * joining, and the host part of a grpc-js peer string. Used by the server's options and validation,
 * the front doors, the CLI, the SDKs and the simulated broker, so an address means the same
 * everywhere.
 */
import { isIP } from 'node:net';

/** A parsed address. `host` has no brackets. */
export interface HostPort {
  host: string;
  port: number;
}

/** Why a string is not host:port (the message reads after "must be host:port"). */
export class AddressError extends Error {}

const IPV4 = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const HOST_LABEL = /^[a-zA-Z0-9_](?:[a-zA-Z0-9_-]{0,61}[a-zA-Z0-9_])?$/;
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;
const PORT = /^(?:0|[1-9]\d{0,4})$/;

/** A DNS hostname, or a dotted IPv4 address when its last label is numeric. */
function isHostnameOrIPv4(host: string): boolean {
  if (host.length === 0 || host.length > 253) return false;
  const labels = host.split('.');
  if (/^\d+$/.test(labels[labels.length - 1] ?? '')) return IPV4.test(host);
  return labels.every((label) => HOST_LABEL.test(label));
}

/** Number of 16-bit groups in a `::`-free run of IPv6 groups, or -1 when malformed. */
function ipv6Groups(run: string, ipv4TailAllowed: boolean): number {
  if (run === '') return 0;
  const parts = run.split(':');
  let groups = 0;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] ?? '';
    if (ipv4TailAllowed && i === parts.length - 1 && part.includes('.')) {
      if (!IPV4.test(part)) return -1;
      groups += 2;
    } else if (HEX_GROUP.test(part)) {
      groups += 1;
    } else {
      return -1;
    }
  }
  return groups;
}

/** A textual IPv6 address (no zone id). */
export function isIPv6(host: string): boolean {
  if (host.length < 2 || host.length > 45) return false;
  const gap = host.indexOf('::');
  if (gap < 0) return ipv6Groups(host, true) === 8;
  if (host.indexOf('::', gap + 1) >= 0) return false; // at most one '::' (this also rejects ':::')
  const head = ipv6Groups(host.slice(0, gap), false);
  const tail = ipv6Groups(host.slice(gap + 2), true);
  return head >= 0 && tail >= 0 && head + tail <= 7;
}

/**
 * Parse "host:port". The port is 1..65535, or 0 too with `allowPortZero` (a listen address: "any free
 * port"). Throws AddressError saying what is wrong.
 */
export function parseHostPort(s: string, options: { allowPortZero?: boolean } = {}): HostPort {
  let host: string;
  let port: string;
  if (s.startsWith('[')) {
    const close = s.indexOf(']');
    if (close < 0 || s[close + 1] !== ':') throw new AddressError('a bracketed IPv6 host must be followed by ":port"');
    host = s.slice(1, close);
    port = s.slice(close + 2);
    if (!isIPv6(host)) throw new AddressError(`"${host}" is not an IPv6 address`);
  } else {
    const colon = s.lastIndexOf(':');
    if (colon < 0) throw new AddressError('there is no ":port"');
    host = s.slice(0, colon);
    port = s.slice(colon + 1);
    if (host.includes(':')) throw new AddressError('IPv6 hosts in brackets, e.g. [::1]:10911');
    if (!isHostnameOrIPv4(host)) throw new AddressError(`"${host}" is not a hostname or IPv4 address`);
  }
  const n = Number(port);
  if (!PORT.test(port) || n > 65_535 || (n === 0 && !options.allowPortZero)) {
    throw new AddressError(`a port ${options.allowPortZero ? '0' : '1'}..65535 is needed`);
  }
  return { host, port: n };
}

/** "host:port", bracketing an IPv6 host. */
export function joinHostPort(host: string, port: string | number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The host of a grpc-js peer string ("10.0.0.1:5000", "[::1]:5000", "unix:/path"). */
export function peerHost(peer: string): string {
  if (peer.startsWith('unix:')) return peer;
  const i = peer.lastIndexOf(':');
  return (i > 0 ? peer.slice(0, i) : peer).replace(/^\[|\]$/g, '');
}
