import { test } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { call, rejectsWith, startServer } from './server';

test('helpers: a server starts on an ephemeral port and answers', async () => {
  const s = await startServer();
  try {
    assert.ok(s.port > 0);
    await rejectsWith(call(s.routes, 'getRoute', { topic: 'nope' }), status.NOT_FOUND);
    const info = await call(s.admin, 'getClusterInfo', {});
    assert.equal(info.serverId, s.server.serverId);
  } finally {
    await s.stop();
  }
});
