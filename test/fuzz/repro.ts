/**
 * Replay fuzz inputs against a fresh server, batch by batch, and report the first batch with a status
 * outside the allowed set; then replay that batch's inputs one at a time to find the culprit.
 * Usage: FUZZ_SEED=99 FUZZ_INPUTS=100000 npx tsx test/fuzz/repro.ts
 */
import * as grpc from '@grpc/grpc-js';
import { startServer } from '../helpers/server';
import { input, METHODS, prng, type Method } from './inputs';

const id = (b: Buffer) => b;
function send(raw: grpc.Client, m: Method, bytes: Buffer): Promise<[number, string]> {
  return new Promise((resolve) => {
    const deadline = Date.now() + 2000;
    if (!m.requestStream && !m.responseStream) {
      raw.makeUnaryRequest(m.path, id, id, bytes, new grpc.Metadata(), { deadline }, (e) => resolve(e ? [e.code, e.details] : [0, '']));
      return;
    }
    if (!m.requestStream) {
      const c = raw.makeServerStreamRequest(m.path, id, id, bytes, new grpc.Metadata(), { deadline });
      c.on('data', () => c.cancel());
      c.on('error', (e: grpc.ServiceError) => resolve([e.code, e.details]));
      c.on('end', () => resolve([0, '']));
      return;
    }
    const c = raw.makeBidiStreamRequest(m.path, id, id, new grpc.Metadata(), { deadline });
    c.on('data', () => c.cancel());
    c.on('error', (e: grpc.ServiceError) => resolve([e.code, e.details]));
    c.on('end', () => resolve([0, '']));
    c.write(bytes);
    c.write(bytes);
    c.end();
  });
}

(async () => {
  const rnd = prng(Number(process.env.FUZZ_SEED ?? 1234));
  const n = Number(process.env.FUZZ_INPUTS ?? 3000);
  const s = await startServer({ streamGraceMs: 50, commandTimeoutMs: 200 });
  let raw = new grpc.Client(s.address, grpc.credentials.createInsecure());
  for (let i = 0; i < n; i += 32) {
    if (i % 512 === 0) raw = new grpc.Client(s.address, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
    const batch: [Method, Buffer][] = [];
    for (let j = i; j < Math.min(n, i + 32); j++) batch.push([METHODS[j % METHODS.length]!, input(rnd)]);
    const res = await Promise.all(batch.map(([m, b]) => send(raw, m, b)));
    if (res.some(([c]) => c === 13 || c === 2)) {
      console.log(`batch at ${i} failed:`, res.filter(([c]) => c === 13 || c === 2).slice(0, 2));
      for (const [m, b] of batch) {
        const one = await send(raw, m, b);
        if (one[0] === 13 || one[0] === 2) console.log('culprit?', m.path, b.length, b.subarray(0, 48).toString('hex'), one);
      }
      for (const [m, b] of batch) console.log(m.path, b.length, b.subarray(0, 24).toString('hex'));
      break;
    }
  }
  raw.close();
  await s.stop();
})();
