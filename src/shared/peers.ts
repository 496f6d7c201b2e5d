/**
 * Facts about callers that the server and the console both need: whether a peer is on this host
 * (loopback-only admin writes), and the metadata key of the per-process secret the console gateway
 * sends to prove it is this process's own client.
 */
import { isIP } from 'node:net';
import { peerHost } from './address';

/** Metadata key of the per-process internal secret (the server's Guard holds the secret). */
export const INTERNAL_METADATA = 'x-nameserver-internal';

/**
 * Metadata key with the address of the web console's HTTP client, sent by the console gateway next to
 * the internal secret so the server's audit log names the operator's machine (trusted only with it).
 */
export const CONSOLE_PEER_METADATA = 'x-nameserver-console-peer';

/** Whether a grpc-js peer string ("127.0.0.1:5000", "[::1]:5000", "::ffff:127.0.0.1:5000", "unix:…") is loopback. */
export function isLoopbackPeer(peer: string): boolean {
  if (peer.startsWith('unix:')) return true;
  const host = peerHost(peer);
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) {
    const h = host.toLowerCase();
    return h === '::1' || /^::ffff:127\./.test(h) || /^0{0,4}(:0{0,4}){6}:0{0,3}1$/.test(h);
  }
  return false;
}
