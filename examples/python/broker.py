#!/usr/bin/env python3
"""A minimal broker for the NameServer, written with nothing but the .proto files and gRPC for Python.

It is the reference for "Writing a broker in another language" (examples/README.md):

  1. open one `BrokerRegistry/Connect` stream per NameServer replica;
  2. send `register` (identity, addresses, data_version {epoch: new per boot, counter}, topics, groups)
     and wait for `accepted`;
  3. report `positions` (and `instances`) whenever they change, and `heartbeat` now and then;
  4. answer every `command`: apply it, report the new state (a `delta` on top of the counter the
     NameServer holds, to every replica), and only THEN send `command_result` with the same command_id;
  5. re-send the full `register` when an `ack` says `reregister_required`; reconnect (and register
     again) when the stream breaks; on shutdown call `UnregisterBroker` so routes disappear at once.

Everything it does is printed as one JSON object per line on stdout ("event": "registered",
"command", "command_result", ...), which the interop test follows. Configuration lives in memory only.

  .tools/venv/bin/python examples/python/broker.py --nameservers 127.0.0.1:9876 --cluster c1 \
      --broker-name py-broker --address 127.0.0.1:10911 --topic orders:8 --topic audit:4 --group billing

Stubs: run examples/python/gen.sh first (they go to examples/python/build, or to --stubs /
$NAMESERVER_PY_STUBS). Needs grpcio and protobuf from PyPI: the project's virtualenv .tools/venv
(`bash scripts/install-test-tools.sh`, pins in test/interop/requirements.txt) has them.
"""
import argparse
import json
import os
import queue
import random
import signal
import sys
import threading
import time
import uuid


def load_stubs(path):
    """Import the generated modules from `path` (see gen.sh)."""
    if not os.path.isdir(os.path.join(path, "nameserver", "v1")):
        sys.exit(f"broker.py: no generated stubs in {path}; run examples/python/gen.sh first")
    sys.path.insert(0, path)


_print_lock = threading.Lock()


def emit(event, **fields):
    """One JSON line on stdout (the interop test reads these)."""
    with _print_lock:
        sys.stdout.write(json.dumps({"event": event, **fields}, sort_keys=True) + "\n")
        sys.stdout.flush()


def parse_args(argv):
    p = argparse.ArgumentParser(description="Example broker speaking BrokerRegistry/Connect.")
    p.add_argument("--nameservers", required=True, help="NameServer addresses, comma-separated (one session each)")
    p.add_argument("--cluster", default="c1")
    p.add_argument("--broker-name", required=True)
    p.add_argument("--broker-id", type=int, default=0, help="0 = leader of the replica set")
    p.add_argument("--address", action="append", default=[], help="host:port clients use (repeatable)")
    p.add_argument("--zone", default="")
    p.add_argument("--topic", action="append", default=[], help="NAME[:QUEUES] (repeatable; QUEUES default 4)")
    p.add_argument("--group", action="append", default=[], help="consumer group subscribed to every topic (repeatable)")
    p.add_argument("--heartbeat-ms", type=int, default=10000, help="heartbeat interval on the stream")
    p.add_argument("--positions-ms", type=int, default=5000, help="positions report interval")
    p.add_argument("--stubs", default=os.environ.get("NAMESERVER_PY_STUBS", os.path.join(os.path.dirname(os.path.abspath(__file__)), "build")))
    return p.parse_args(argv)


class BrokerState:
    """The broker's own configuration (what a real broker persists) and its data version."""

    def __init__(self, pb, common, args):
        self.pb = pb
        self.common = common
        self.lock = threading.RLock()
        self.args = args
        self.epoch = "py-%s-%08x" % (uuid.uuid4().hex[:12], random.getrandbits(32))
        self.counter = 1
        self.permission = common.PERMISSION_READ_WRITE
        self.topics = {}  # name -> TopicConfig
        self.groups = {}  # name -> GroupConfig
        for spec in args.topic:
            name, _, queues = spec.partition(":")
            n = int(queues) if queues else 4
            self.topics[name] = self.normalize_topic(
                common.TopicConfig(name=name, read_queue_nums=n, write_queue_nums=n)
            )
        for g in args.group:
            self.groups[g] = common.GroupConfig(
                name=g,
                consume_mode=common.CONSUME_MODE_CLUSTERING,
                subscriptions=[common.Subscription(topic=t, expression="*", filter_type=common.FILTER_TYPE_TAG) for t in sorted(self.topics)],
                retry_policy=common.RetryPolicy(max_attempts=16, initial_backoff_ms=1000, max_backoff_ms=60000),
            )
        self.sessions = []  # live Session objects (deltas go to every replica)
        self.started = time.time()

    def normalize_topic(self, t):
        """Defaults made explicit, so an idempotent create compares equal."""
        c = self.common.TopicConfig()
        c.CopyFrom(t)
        if c.permission == self.common.PERMISSION_UNSPECIFIED:
            c.permission = self.common.PERMISSION_READ_WRITE
        if c.message_type == self.common.MESSAGE_TYPE_UNSPECIFIED:
            c.message_type = self.common.MESSAGE_TYPE_NORMAL
        return c

    def data_version(self):
        return self.common.DataVersion(epoch=self.epoch, counter=self.counter)

    def register_request(self):
        a = self.args
        return self.pb.RegisterBrokerRequest(
            cluster=a.cluster,
            broker_name=a.broker_name,
            broker_id=a.broker_id,
            addresses=a.address,
            zone=a.zone,
            software_version="python-example-1.0",
            data_version=self.data_version(),
            topics=[self.topics[n] for n in sorted(self.topics)],
            groups=[self.groups[n] for n in sorted(self.groups)],
            permission=self.permission,
        )

    def positions_request(self):
        """Simulated offsets: every queue grows a little with time; groups lag 10 messages behind."""
        grown = int((time.time() - self.started) * 10)
        qp, cp = [], []
        for name in sorted(self.topics):
            t = self.topics[name]
            for q in range(t.read_queue_nums):
                max_offset = 100 * (q + 1) + grown
                qp.append(self.common.QueuePosition(topic=name, queue_id=q, min_offset=0, max_offset=max_offset))
                for g in sorted(self.groups):
                    cp.append(self.common.ConsumerPosition(group=g, topic=name, queue_id=q, committed_offset=max(0, max_offset - 10)))
        # Identity may stay empty on a Connect stream (the session's broker); `full` replaces old positions.
        return self.pb.ReportPositionsRequest(queue_positions=qp, consumer_positions=cp, full=True)


class Session:
    """One Connect stream to one NameServer replica, reconnecting with back-off."""

    def __init__(self, grpc, pb, pb_grpc, state, target, stop):
        self.grpc, self.pb, self.pb_grpc = grpc, pb, pb_grpc
        self.state = state
        self.target = target
        self.stop = stop
        self.outbox = None  # queue.Queue of ConnectRequest (None ends the stream)
        self.call = None
        self.accepted = False
        self.seq = 0
        self.seq_lock = threading.Lock()

    # --- sending -------------------------------------------------------------------------------
    def send(self, **body):
        """Queue one ConnectRequest (seq != 0 asks for an ack)."""
        with self.seq_lock:
            self.seq += 1
            req = self.pb.ConnectRequest(seq=self.seq, **body)
        box = self.outbox
        if box is not None:
            box.put(req)

    def requests(self, box):
        while True:
            req = box.get()
            if req is None:
                return
            yield req

    def send_register(self):
        with self.state.lock:
            self.send(register=self.state.register_request())

    def send_positions(self):
        with self.state.lock:
            req = self.state.positions_request()
        self.send(positions=req)
        emit("positions", nameserver=self.target, queue_positions=len(req.queue_positions), consumer_positions=len(req.consumer_positions))

    def send_heartbeat(self):
        with self.state.lock:
            self.send(heartbeat=self.pb.HeartbeatRequest(data_version=self.state.data_version()))

    # --- the session loop ----------------------------------------------------------------------
    def run(self):
        backoff = 0.2
        while not self.stop.is_set():
            channel = self.grpc.insecure_channel(
                self.target,
                options=[
                    # Notice a vanished NameServer without waiting for TCP timeouts.
                    ("grpc.keepalive_time_ms", 10000),
                    ("grpc.keepalive_timeout_ms", 5000),
                    ("grpc.keepalive_permit_without_calls", 1),
                ],
            )
            stub = self.pb_grpc.BrokerRegistryStub(channel)
            box = queue.Queue()
            self.outbox = box
            self.accepted = False
            emit("connecting", nameserver=self.target)
            # The register goes first; the snapshot is taken under the state lock, and this session
            # only joins the delta broadcast list afterwards, so no delta can precede its register.
            with self.state.lock:
                self.send_register()
                self.state.sessions.append(self)
            ticker = threading.Thread(target=self.tick, args=(box,), daemon=True)
            try:
                self.call = stub.Connect(self.requests(box))
                ticker.start()
                for msg in self.call:
                    self.on_message(msg)
                emit("disconnected", nameserver=self.target, code="OK", details="server ended the stream")
            except self.grpc.RpcError as e:
                if self.stop.is_set():
                    break
                emit("disconnected", nameserver=self.target, code=e.code().name, details=e.details())
            finally:
                with self.state.lock:
                    if self in self.state.sessions:
                        self.state.sessions.remove(self)
                self.outbox = None
                box.put(None)
                channel.close()
            if self.accepted:
                backoff = 0.2
            self.stop.wait(backoff * (0.5 + random.random() / 2))
            backoff = min(backoff * 2, 5.0)

    def tick(self, box):
        """Heartbeats and periodic positions while this stream lives."""
        a = self.state.args
        next_hb = time.time() + a.heartbeat_ms / 1000
        next_pos = time.time() + a.positions_ms / 1000
        while not self.stop.is_set() and self.outbox is box:
            self.stop.wait(0.05)
            if not self.accepted:
                continue
            now = time.time()
            if now >= next_hb:
                self.send_heartbeat()
                next_hb = now + a.heartbeat_ms / 1000
            if now >= next_pos:
                self.send_positions()
                next_pos = now + a.positions_ms / 1000

    def close(self):
        """Half-close the stream (the NameServer starts its grace period) and cancel it."""
        box = self.outbox
        if box is not None:
            box.put(None)
        if self.call is not None:
            self.call.cancel()

    # --- what the NameServer sends ---------------------------------------------------------------
    def on_message(self, msg):
        kind = msg.WhichOneof("body")
        if kind == "accepted":
            self.accepted = True
            a = msg.accepted
            with self.state.lock:
                emit(
                    "registered",
                    nameserver=self.target,
                    session_id=a.session_id,
                    server_id=a.server_id,
                    grace_ms=a.grace_ms,
                    broker_name=self.state.args.broker_name,
                    epoch=self.state.epoch,
                    counter=self.state.counter,
                    topics=sorted(self.state.topics),
                )
            self.send_positions()
        elif kind == "ack":
            ack = msg.ack
            if ack.reregister_required:
                emit("reregister", nameserver=self.target, seq=ack.seq, reason=ack.error)
                self.send_register()
            elif not ack.ok:
                emit("ack_error", nameserver=self.target, seq=ack.seq, error=ack.error)
        elif kind == "command":
            self.on_command(msg.command)

    def on_command(self, cmd):
        st, common = self.state, self.state.common
        action = cmd.WhichOneof("action")
        emit("command", nameserver=self.target, command_id=cmd.command_id, action=action, detail=describe(cmd, action))
        OK = common.COMMAND_OUTCOME_OK
        outcome, message = OK, ""
        with st.lock:
            upsert_topics, delete_topics, upsert_groups, delete_groups = [], [], [], []
            full_register = False
            if action == "create_topic":
                t = st.normalize_topic(cmd.create_topic.topic)
                held = st.topics.get(t.name)
                if held is None:
                    st.topics[t.name] = t
                    upsert_topics.append(t)
                elif held != t:
                    outcome, message = common.COMMAND_OUTCOME_ALREADY_EXISTS, "topic %s exists with another configuration" % t.name
            elif action == "update_topic":
                t = st.normalize_topic(cmd.update_topic.topic)
                if t.name not in st.topics:
                    outcome, message = common.COMMAND_OUTCOME_NOT_FOUND, "no topic %s" % t.name
                elif st.topics[t.name] != t:
                    st.topics[t.name] = t
                    upsert_topics.append(t)
            elif action == "delete_topic":
                name = cmd.delete_topic.name
                if st.topics.pop(name, None) is None:
                    outcome, message = common.COMMAND_OUTCOME_NOT_FOUND, "no topic %s" % name
                else:
                    delete_topics.append(name)
            elif action == "create_group":
                g = cmd.create_group.group
                held = st.groups.get(g.name)
                if held is None:
                    st.groups[g.name] = g
                    upsert_groups.append(g)
                elif held != g:
                    outcome, message = common.COMMAND_OUTCOME_ALREADY_EXISTS, "group %s exists with another configuration" % g.name
            elif action == "update_group":
                g = cmd.update_group.group
                if g.name not in st.groups:
                    outcome, message = common.COMMAND_OUTCOME_NOT_FOUND, "no group %s" % g.name
                elif st.groups[g.name] != g:
                    st.groups[g.name] = g
                    upsert_groups.append(g)
            elif action == "delete_group":
                name = cmd.delete_group.name
                if st.groups.pop(name, None) is None:
                    outcome, message = common.COMMAND_OUTCOME_NOT_FOUND, "no group %s" % name
                else:
                    delete_groups.append(name)
            elif action == "set_permission":
                if st.permission != cmd.set_permission.permission:
                    st.permission = cmd.set_permission.permission
                    full_register = True  # the broker-wide permission travels in the full report
            else:
                outcome, message = common.COMMAND_OUTCOME_INVALID, "unsupported command %s" % action

            # Report the new state to EVERY replica before answering, so the NameServer's routes (and
            # its watchers) already show the change when the admin call returns.
            if upsert_topics or delete_topics or upsert_groups or delete_groups or full_register:
                base = st.counter
                st.counter += 1
                for s in list(st.sessions):
                    if full_register:
                        s.send_register()
                    else:
                        s.send(
                            delta=self.pb.ReportDeltaRequest(
                                base_counter=base,
                                data_version=st.data_version(),
                                upsert_topics=upsert_topics,
                                delete_topics=delete_topics,
                                upsert_groups=upsert_groups,
                                delete_groups=delete_groups,
                            )
                        )
                emit("delta", counter=st.counter, upsert_topics=[t.name for t in upsert_topics], delete_topics=delete_topics,
                     upsert_groups=[g.name for g in upsert_groups], delete_groups=delete_groups, full_register=full_register)
            self.send(command_result=self.pb.CommandResult(command_id=cmd.command_id, outcome=outcome, message=message))
        emit("command_result", nameserver=self.target, command_id=cmd.command_id, outcome=common.CommandOutcome.Name(outcome), message=message)


def describe(cmd, action):
    """The interesting part of a command, for the log line."""
    if action in ("create_topic", "update_topic"):
        t = getattr(cmd, action).topic
        return {"topic": t.name, "read_queue_nums": t.read_queue_nums, "write_queue_nums": t.write_queue_nums}
    if action in ("create_group", "update_group"):
        return {"group": getattr(cmd, action).group.name}
    if action in ("delete_topic", "delete_group"):
        return {"name": getattr(cmd, action).name}
    if action == "set_permission":
        return {"permission": cmd.set_permission.permission}
    return {}


def main(argv):
    args = parse_args(argv)
    load_stubs(args.stubs)
    import grpc
    from nameserver.v1 import broker_registry_pb2 as pb
    from nameserver.v1 import broker_registry_pb2_grpc as pb_grpc
    from nameserver.v1 import common_pb2 as common

    if not args.address:
        args.address = ["127.0.0.1:10911"]
    state = BrokerState(pb, common, args)
    stop = threading.Event()
    targets = [t.strip() for t in args.nameservers.split(",") if t.strip()]
    sessions = [Session(grpc, pb, pb_grpc, state, t, stop) for t in targets]
    threads = [threading.Thread(target=s.run, daemon=True) for s in sessions]
    for t in threads:
        t.start()

    def shutdown(signum, _frame):
        stop.set()

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    while not stop.is_set():
        stop.wait(0.5)

    # Graceful leave: unregister this boot's registration everywhere (its routes go at once), then
    # close the streams.
    for t in targets:
        try:
            with grpc.insecure_channel(t) as ch:
                res = pb_grpc.BrokerRegistryStub(ch).UnregisterBroker(
                    pb.UnregisterBrokerRequest(cluster=args.cluster, broker_name=args.broker_name, broker_id=args.broker_id, epoch=state.epoch),
                    timeout=2,
                )
                emit("unregistered", nameserver=t, removed=res.removed, reason=res.reason)
        except grpc.RpcError as e:
            emit("unregister_failed", nameserver=t, code=e.code().name, details=e.details())
    for s in sessions:
        s.close()
    for t in threads:
        t.join(timeout=2)
    emit("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
