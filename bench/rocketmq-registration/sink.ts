/**
 * A floor for the steady-state part of rocketmq-registration: a bare Node TCP server that reads remoting
 * frames the way the NameServer's door does (into one shared buffer, frames copied once into reused
 * buffers: readInto, FrameReader), decodes each header and answers SUCCESS, without looking at the
 * body. What receiving these requests' bytes costs a Node process at all, with a small heap. Prints
 * {"port":N}.
 */
import net from 'node:net';
import { readInto } from '../../src/server/network/remoting/socket-reads';
import { decodeFrame, encodeFrame, FrameBufferPool, FrameReader, responseTo } from '../../src/server/network/remoting/frame';

const pool = new FrameBufferPool();
const readBuffer = Buffer.allocUnsafeSlow(64 * 1024);

const server = net.createServer((socket) => {
  const reader = new FrameReader(64 * 1024 * 1024, pool);
  let sock = socket;
  const onBytes = (bytes: Buffer): boolean => {
    reader.push(bytes, (f) => {
      sock.write(encodeFrame(responseTo(decodeFrame(f), 0)));
      pool.give(f);
    });
    return true;
  };
  const taken = readInto(socket, readBuffer, onBytes);
  if (taken) sock = taken.socket;
  else socket.on('data', (chunk: Buffer) => void onBytes(chunk));
  sock.setNoDelay(true);
  sock.on('error', () => sock.destroy());
  for (const b of taken?.unread ?? []) onBytes(b);
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ port: (server.address() as net.AddressInfo).port })}\n`));
process.once('SIGTERM', () => process.exit(0));
