/**
 * The remoting front door: accepts connections handed over by the shared port, splits their bytes into
 * frames, and answers each request through the code → handler table, after the access check and the
 * per-peer rate limit. A malformed frame closes that connection (logged); nothing else is affected.
 * Limits of its own: frame size, open connections, requests per second per peer host, and unanswered
 * bytes per connection (a peer that stops reading stops being read).
 */
import { EventEmitter } from 'node:events';
import type net from 'node:net';
import { log } from '../../log';
import { LimitExceeded } from '../../metadata/errors';
import { PeerRateLimiter } from '../grpc/rate-limit';
import type { RemotingAcl } from './acl';
import type { ConnectionRef } from './brokers';
import { ResponseCode } from './codes';
import { decodeFrame, encodeResponse, FrameError, FrameSplitter, isOneway, isResponse, type RemotingCommand } from './frame';
import { replyForError, type FrontDoor, type RemotingReply } from './handler';
import { HANDLERS } from './table';

/** Unanswered response bytes queued on one connection before it stops being read. */
const WRITE_HIGH_WATER = 4 * 1024 * 1024;

/** The door's limits (from Config). */
export interface DoorLimits {
  maxConnections: number;
  maxFrameBytes: number;
  peerRequestsPerSecond: number;
}

/** Events: a connection closed and its brokers were handled; a request was answered (for metrics). */
export interface DoorEvents {
  closed: [conn: ConnectionRef];
  answered: [request: string, response: string];
}

/** Response code → its name ("SUCCESS", "TOPIC_NOT_EXIST", ...), for metrics labels. */
const RESPONSE_NAMES = new Map<number, string>(Object.entries(ResponseCode).map(([name, code]) => [code, name]));

/** See the module comment. */
export class RemotingDoor extends EventEmitter<DoorEvents> {
  private readonly sockets = new Set<net.Socket>();
  private readonly limiter: PeerRateLimiter;
  private nextId = 1;
  private closed = false;

  constructor(
    private readonly door: FrontDoor,
    private readonly acl: RemotingAcl,
    private readonly limits: DoorLimits,
    private readonly serverId: string,
  ) {
    super();
    this.limiter = new PeerRateLimiter(limits.peerRequestsPerSecond);
  }

  /** Open remoting connections. */
  get connections(): number {
    return this.sockets.size;
  }

  /** Whether remoting is served at all (--remoting-max-connections 0 turns it off). */
  get enabled(): boolean {
    return this.limits.maxConnections > 0;
  }

  /** Serve a connection whose first bytes were a remoting frame (they are still unread on the socket). */
  accept(socket: net.Socket): void {
    const peer = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
    if (this.closed || !this.enabled || this.sockets.size >= this.limits.maxConnections) {
      log.warn({ peer, open: this.sockets.size, limit: this.limits.maxConnections }, this.enabled ? 'remoting: connection refused (--remoting-max-connections reached or stopping)' : 'remoting: connection refused (remoting is off: --remoting-max-connections 0)');
      socket.destroy();
      return;
    }
    const id = this.nextId++;
    const conn: ConnectionRef = { id, epoch: `remoting-${this.serverId}-${id}`, peer };
    const splitter = new FrameSplitter(this.limits.maxFrameBytes);
    this.sockets.add(socket);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      let frames: Buffer[];
      let cmds: RemotingCommand[];
      try {
        frames = splitter.push(chunk);
        cmds = frames.map(decodeFrame);
      } catch (err) {
        if (!(err instanceof FrameError)) throw err;
        log.warn({ peer, err: err.message }, 'remoting: malformed frame; closing the connection');
        socket.destroy();
        return;
      }
      // The answers to one read leave in one write (synchronous handlers answer within the loop).
      socket.cork();
      for (const cmd of cmds) this.dispatch(socket, conn, cmd);
      socket.uncork();
    });
    socket.on('drain', () => socket.resume());
    socket.on('error', () => socket.destroy());
    socket.once('close', () => {
      this.sockets.delete(socket);
      this.door.brokers.connectionClosed(conn);
      this.emit('closed', conn);
    });
    socket.resume();
  }

  /** Close every connection (shutdown). */
  close(): void {
    this.closed = true;
    for (const s of this.sockets) s.destroy();
  }

  private dispatch(socket: net.Socket, conn: ConnectionRef, cmd: RemotingCommand): void {
    if (isResponse(cmd)) return; // this door sends no requests on inbound connections
    const entry = HANDLERS.get(cmd.code);
    if (!entry) {
      this.answer(socket, cmd, 'UNKNOWN', { code: ResponseCode.REQUEST_CODE_NOT_SUPPORTED, remark: ` request type ${cmd.code} not supported` });
      return;
    }
    let result: RemotingReply | Promise<RemotingReply>;
    try {
      this.limiter.admit(conn.peer);
      this.acl.check(entry.access, cmd, conn.peer);
      result = entry.handle({ cmd, conn }, this.door);
    } catch (err) {
      this.answer(socket, cmd, entry.name, err instanceof LimitExceeded ? { code: ResponseCode.SYSTEM_BUSY, remark: `[FLOW] ${err.message}` } : replyForError(err, entry.name));
      return;
    }
    if (result instanceof Promise) {
      result.then(
        (reply) => this.answer(socket, cmd, entry.name, reply),
        (err: unknown) => this.answer(socket, cmd, entry.name, replyForError(err, entry.name)),
      );
    } else this.answer(socket, cmd, entry.name, result);
  }

  /** Count the reply and send it (unless the request was one-way or the connection is gone). */
  private answer(socket: net.Socket, cmd: RemotingCommand, request: string, reply: RemotingReply): void {
    this.emit('answered', request, RESPONSE_NAMES.get(reply.code) ?? String(reply.code));
    if (isOneway(cmd) || socket.destroyed) return;
    const wrote = socket.write(encodeResponse(cmd, reply.code, reply));
    if (!wrote && socket.writableLength > WRITE_HIGH_WATER) socket.pause();
  }
}

