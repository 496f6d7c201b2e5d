/**
 * A floor for the steady-state part of rocketmq-registration: a bare Node TCP server that splits remoting
 * frames with the NameServer's own FrameSplitter, decodes each header and answers SUCCESS, without
 * looking at the body. What receiving REGISTER_BROKER's bytes costs a Node process at all, with a small
 * heap. Prints {"port":N}.
 */
import net from 'node:net';
import { decodeFrame, encodeFrame, FrameSplitter, responseTo } from '../../src/server/network/remoting/frame';

const server = net.createServer((socket) => {
  const splitter = new FrameSplitter(64 * 1024 * 1024);
  socket.setNoDelay(true);
  socket.on('data', (chunk: Buffer) => {
    for (const f of splitter.push(chunk)) socket.write(encodeFrame(responseTo(decodeFrame(f), 0)));
  });
  socket.on('error', () => socket.destroy());
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ port: (server.address() as net.AddressInfo).port })}\n`));
process.once('SIGTERM', () => process.exit(0));
