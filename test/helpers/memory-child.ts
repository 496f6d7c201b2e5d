/**
 * A NameServer in a child process whose memory a test can measure on its own: started by
 * `spawnMeasuredServer` with `--expose-gc`, it answers each `mem` message on the IPC channel with its
 * memory after a full garbage collection. The config overrides come in NAMESERVER_TEST_CONFIG (JSON).
 */
import { NameServer } from '../../src/server/server';
import { testConfig } from './server';

const gc = (globalThis as { gc?: () => void }).gc;

async function main(): Promise<void> {
  const server = new NameServer(testConfig(JSON.parse(process.env.NAMESERVER_TEST_CONFIG ?? '{}')));
  const port = await server.start();
  process.on('message', (m: { type: string }) => {
    if (m.type === 'mem') {
      // Two passes: the first may only schedule finalizers (http2 stream handles) that free more.
      gc?.();
      setImmediate(() => {
        gc?.();
        const u = process.memoryUsage();
        process.send!({ type: 'mem', rss: u.rss, heapUsed: u.heapUsed, external: u.external, arrayBuffers: u.arrayBuffers, streams: server.streams.size, watchers: server.routeWatch.size, subscriptions: server.routeWatch.subscriptions() });
      });
    } else if (m.type === 'stop') {
      void server.stop().then(() => process.exit(0));
    }
  });
  process.send!({ type: 'ready', port });
}

void main();
