/** Reads of a server-side socket into a caller's buffer (the remoting door's, without per-read allocation). */
import net from 'node:net';

/**
 * Move a server-side socket to reads into `buffer` (Node's `onread` option, which only sockets created
 * with it have): a new net.Socket takes over the connection's handle, and the old wrapper, whose unread
 * bytes are returned, is discarded without closing the connection. Without this every read allocates a
 * 64 KiB buffer outside the V8 heap, which at a broker fleet's full re-registrations (hundreds of KiB
 * each) makes V8 run full collections of the whole heap every few seconds. Returns undefined (nothing
 * changed) when the socket has no stream handle to take (not a plain TCP socket).
 */
export function readInto(socket: net.Socket, buffer: Buffer, onBytes: (bytes: Buffer) => boolean): { socket: net.Socket; unread: Buffer[] } | undefined {
  const handle = (socket as unknown as { _handle?: { readStop?: () => number; useUserBuffer?: unknown; reading?: boolean } | null })._handle;
  if (!handle || typeof handle.readStop !== 'function' || typeof handle.useUserBuffer !== 'function' || socket.destroyed) return undefined;
  const unread: Buffer[] = [];
  for (let b: Buffer | null; (b = socket.read() as Buffer | null) !== null; ) unread.push(b);
  handle.readStop();
  handle.reading = false;
  socket.removeAllListeners();
  (socket as unknown as { _handle: unknown })._handle = null;
  socket.destroy(); // the old wrapper only: its handle is now the new socket's
  const taken = new net.Socket({
    handle: handle as never,
    readable: true,
    writable: true,
    onread: { buffer, callback: (n: number, buf: Uint8Array) => onBytes((buf as Buffer).subarray(0, n)) },
  } as net.SocketConstructorOpts);
  return { socket: taken, unread };
}
