/**
 * Preloaded into a NameServer process by the parts that need to look inside it (`node --import tsx
 * --expose-gc --import bench/lib/probe.ts src/server/main.ts …`, spawned with an IPC channel). The server
 * is the unmodified src/server/main.ts; the probe only answers IPC requests:
 *   {type:'mem'}                → full GCs (with --expose-gc), then process.memoryUsage();
 *   {type:'snapshot', file}     → a heap snapshot written to `file`;
 *   {type:'cpu-start'}          → start the V8 CPU profiler (same sampler and .cpuprofile format as
 *                                 `node --cpu-prof`, but over a chosen window only);
 *   {type:'cpu-stop', file}     → stop it and write the profile to `file`.
 * Every answer echoes the request's type and id.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import v8 from 'node:v8';

const gc = (globalThis as { gc?: () => void }).gc;
let session: Session | undefined;

async function handle(m: { type?: string; id?: number; file?: string }): Promise<object | undefined> {
  switch (m.type) {
    case 'mem':
      if (gc) for (let i = 0; i < 3; i++) gc();
      return { usage: process.memoryUsage(), gc: gc !== undefined };
    case 'snapshot':
      return { file: v8.writeHeapSnapshot(m.file) };
    case 'cpu-start':
      session = new Session();
      session.connect();
      await session.post('Profiler.enable');
      await session.post('Profiler.setSamplingInterval', { interval: 1000 });
      await session.post('Profiler.start');
      return {};
    case 'cpu-stop': {
      if (!session) return { error: 'profiler not started' };
      const { profile } = await session.post('Profiler.stop');
      session.disconnect();
      session = undefined;
      writeFileSync(m.file!, JSON.stringify(profile));
      return { file: m.file };
    }
    default:
      return undefined;
  }
}

if (process.send) {
  process.on('message', (m: { type?: string; id?: number; file?: string }) => {
    handle(m).then(
      (r) => r && process.send!({ ...r, type: m.type, id: m.id }),
      (err: unknown) => process.send!({ type: m.type, id: m.id, error: String(err) }),
    );
  });
  // The IPC channel must not keep a stopping server alive.
  process.channel?.unref();
}
