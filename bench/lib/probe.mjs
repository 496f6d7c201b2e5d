/**
 * Preloaded into a server process by the parts that need to look inside it (`node --expose-gc --import
 * bench/lib/probe.mjs dist/src/server/main.js …`, spawned with an IPC channel). Plain JavaScript, so it
 * loads into the compiled server (what production runs) without tsx. The server is unmodified; the probe
 * only answers IPC requests:
 *   {type:'mem'}                → full GCs (with --expose-gc), then process.memoryUsage();
 *   {type:'snapshot', file}     → a heap snapshot written to `file`;
 *   {type:'cpu-start'}          → start the V8 CPU profiler (same sampler and .cpuprofile format as
 *                                 `node --cpu-prof`, but over a chosen window only);
 *   {type:'cpu-stop', file}     → stop it and write the profile to `file`;
 *   {type:'heap-start'}         → start V8's sampling heap profiler;
 *   {type:'heap-stop', file}    → stop it and write the .heapprofile to `file`.
 * Every answer echoes the request's type and id.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import v8 from 'node:v8';

const gc = globalThis.gc;
/** @type {Session | undefined} */
let session;

function connect() {
  if (!session) {
    session = new Session();
    session.connect();
  }
  return session;
}

/** @param {{type?: string, id?: number, file?: string}} m */
async function handle(m) {
  switch (m.type) {
    case 'mem':
      if (gc) for (let i = 0; i < 3; i++) gc();
      return { usage: process.memoryUsage(), gc: gc !== undefined };
    case 'snapshot':
      return { file: v8.writeHeapSnapshot(m.file) };
    case 'cpu-start': {
      const s = connect();
      await s.post('Profiler.enable');
      await s.post('Profiler.setSamplingInterval', { interval: 1000 });
      await s.post('Profiler.start');
      return {};
    }
    case 'cpu-stop': {
      if (!session) return { error: 'profiler not started' };
      const { profile } = await session.post('Profiler.stop');
      writeFileSync(m.file, JSON.stringify(profile));
      return { file: m.file };
    }
    case 'heap-start':
      await connect().post('HeapProfiler.startSampling', { samplingInterval: 4096 });
      return {};
    case 'heap-stop': {
      if (!session) return { error: 'heap profiler not started' };
      const { profile } = await session.post('HeapProfiler.stopSampling');
      writeFileSync(m.file, JSON.stringify(profile));
      return { file: m.file };
    }
    default:
      return undefined;
  }
}

if (process.send) {
  process.on('message', (m) => {
    handle(m).then(
      (r) => r && process.send({ ...r, type: m.type, id: m.id }),
      (err) => process.send({ type: m.type, id: m.id, error: String(err) }),
    );
  });
  // The IPC channel must not keep a stopping server alive.
  process.channel?.unref();
}
