/**
 * Following a server stream (WatchRoutes, WatchCluster) the way an operator expects from a `watch`
 * command: it keeps going when its NameServer restarts or goes away, moving on across the `--server`
 * addresses with the client SDK's jittered back-off, until Ctrl-C. Each lost connection is one line on
 * stderr; errors that another replica would answer the same way (a bad token, a bad request) end the
 * command with their exit code.
 */
import { status, type ClientDuplexStream, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { Backoff, DEFAULT_BACKOFF } from '../shared/backoff';
import { EXIT, describeStatus, exitCodeForStatus } from './errors';

/** Statuses after which another replica (or the same one, restarted) may well answer. */
const MOVE_ON = new Set([status.UNAVAILABLE, status.CANCELLED, status.DEADLINE_EXCEEDED, status.INTERNAL, status.UNKNOWN, status.ABORTED]);

/** What a follower does on each connection. */
export interface Follower<M> {
  /** Open the stream on this address (and send what it needs, e.g. subscriptions). */
  open(address: string): ClientReadableStream<M> | ClientDuplexStream<unknown, M>;
  /** A message from the stream of `address`. */
  onData(message: M, address: string): void;
}

/** Where output goes and when to stop. */
export interface FollowContext {
  err(text: string): void;
  interrupted: Promise<void>;
}

/**
 * Follow until interrupted (exit 0) or until an error no replica would answer differently (its exit
 * code). `servers` are tried in turn, starting with the first.
 */
export function followWithFailover<M>(ctx: FollowContext, servers: readonly string[], follower: Follower<M>, backoff = new Backoff(DEFAULT_BACKOFF)): Promise<number> {
  return new Promise<number>((resolve) => {
    let stopped = false;
    let current: { cancel(): void } | undefined;
    let timer: NodeJS.Timeout | undefined;
    let index = 0;
    const finish = (code: number) => {
      if (stopped) return;
      stopped = true;
      if (timer) clearTimeout(timer);
      current?.cancel();
      resolve(code);
    };
    void ctx.interrupted.then(() => finish(EXIT.OK));

    const connect = () => {
      if (stopped) return;
      const address = servers[index % servers.length]!;
      const stream = follower.open(address);
      current = stream;
      let lost = false;
      const moveOn = (why: string) => {
        if (lost || stopped) return;
        lost = true;
        current = undefined;
        stream.cancel();
        index++;
        const delay = backoff.next();
        ctx.err(`lost ${address} (${why}); reconnecting to ${servers[index % servers.length]} in ${delay} ms`);
        timer = setTimeout(connect, delay);
      };
      stream.on('data', (m: M) => {
        if (lost || stopped) return;
        backoff.reset();
        follower.onData(m, address);
      });
      stream.on('error', (err: ServiceError) => {
        if (stopped || lost) return;
        if (MOVE_ON.has(err.code)) return moveOn(describeStatus(err));
        lost = true;
        ctx.err(`error: ${describeStatus(err)} (server ${address})`);
        finish(exitCodeForStatus(err.code));
      });
      stream.on('end', () => moveOn('the server ended the stream'));
    };
    connect();
  });
}
