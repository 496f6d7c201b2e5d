import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CommandOutcome } from '../../generated/nameserver/v1/common';
import type { ConnectResponse } from '../../generated/nameserver/v1/broker_registry';
import { CommandDispatcher } from '../../src/server/network/admin/commands';
import type { BrokerSession, SessionDirectory } from '../../src/server/network/broker-registry/session';
import { brokerRef } from '../../src/server/metadata/types';

/** A session directory with one fake session that records what it was sent. */
function fakeSessions() {
  const sent: ConnectResponse[] = [];
  const session = { send: (m: ConnectResponse) => sent.push(m) } as unknown as BrokerSession;
  const dir = { get: (key: string) => (key === 'c1/b1/0' ? session : undefined) } as unknown as SessionDirectory;
  return { sent, dir };
}

test('a result is matched to its command only when it comes from the target broker', async () => {
  const { sent, dir } = fakeSessions();
  const d = new CommandDispatcher(dir);
  const p = d.sendAll([brokerRef('c1', 'b1', 0), brokerRef('c1', 'b2', 0)], { $case: 'deleteTopic', deleteTopic: { name: 't' } }, Date.now() + 5_000);
  const body = sent[0]!.body;
  const cmd = body?.$case === 'command' ? body.command : undefined;
  assert.ok(cmd);
  d.resolve('c1/other/0', { commandId: cmd.commandId, outcome: CommandOutcome.COMMAND_OUTCOME_OK, message: 'spoofed' });
  assert.equal(d.size, 1, 'a result from another broker is ignored');
  d.resolve('c1/b1/0', { commandId: cmd.commandId, outcome: CommandOutcome.COMMAND_OUTCOME_UNSPECIFIED, message: '' });
  const results = await p;
  assert.deepEqual(results.map((r) => [r.brokerName, r.outcome]), [
    ['b1', CommandOutcome.COMMAND_OUTCOME_FAILED], // UNSPECIFIED from a broker counts as failed
    ['b2', CommandOutcome.COMMAND_OUTCOME_NO_SESSION],
  ]);
  assert.equal(d.size, 0);
});
