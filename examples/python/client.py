#!/usr/bin/env python3
"""A minimal NameServer client with gRPC for Python: `RouteQuery/GetRoute` for each topic, then one
`RouteQuery/WatchRoutes` stream that follows them, printing one JSON line per result and event:

  {"event": "get_route", "topic": "orders", "version": "...", "route": {...}}
  {"event": "get_route", "topic": "nope", "code": "NOT_FOUND", "details": "..."}
  {"event": "route", "topic": "orders", "type": "ROUTE_EVENT_TYPE_UPDATED", "version": "...", "brokers": [...], "route": {...}}
  {"event": "route", "topic": "orders", "type": "ROUTE_EVENT_TYPE_REMOVED", "version": ""}
  {"event": "route_error", "topic": "huge", "type": 3, "error": "the route of topic \"huge\" is ... bytes ..."}
  {"event": "progress", "subscribed_topics": 2, "warming_up": false, "server_id": "..."}

The subscription carries the version GetRoute returned, so the server sends a topic's route only when
it differs from what the client holds, then every change. The stream stays open until SIGTERM/SIGINT;
when it breaks, the client moves to the next NameServer and re-subscribes with the versions it holds
(after a failover, unchanged routes cost nothing).

  .tools/venv/bin/python examples/python/client.py --nameservers 127.0.0.1:9876 --topic orders --topic audit

Stubs: run examples/python/gen.sh first (examples/python/build, or --stubs / $NAMESERVER_PY_STUBS).
Needs grpcio and protobuf from PyPI (the project's virtualenv .tools/venv has them).
"""
import argparse
import json
import os
import queue
import signal
import sys
import threading


def emit(event, **fields):
    sys.stdout.write(json.dumps({"event": event, **fields}, sort_keys=True) + "\n")
    sys.stdout.flush()


def parse_args(argv):
    p = argparse.ArgumentParser(description="Example NameServer client: GetRoute, then WatchRoutes.")
    p.add_argument("--nameservers", required=True, help="NameServer addresses, comma-separated (used in turn)")
    p.add_argument("--topic", action="append", default=[], help="topic to follow (repeatable; need not exist yet)")
    p.add_argument("--all-topics", action="store_true", help="follow every topic (consoles, proxies)")
    p.add_argument("--stubs", default=os.environ.get("NAMESERVER_PY_STUBS", os.path.join(os.path.dirname(os.path.abspath(__file__)), "build")))
    return p.parse_args(argv)


def main(argv):
    args = parse_args(argv)
    if not os.path.isdir(os.path.join(args.stubs, "nameserver", "v1")):
        sys.exit(f"client.py: no generated stubs in {args.stubs}; run examples/python/gen.sh first")
    sys.path.insert(0, args.stubs)
    import grpc
    from google.protobuf import json_format
    from nameserver.v1 import route_query_pb2 as rq
    from nameserver.v1 import route_query_pb2_grpc as rq_grpc

    def as_dict(route):
        # Canonical proto3 JSON (lowerCamelCase names, enum names, defaults omitted): what every
        # language's protobuf runtime prints, so routes compare across languages.
        return json_format.MessageToDict(route)

    targets = [t.strip() for t in args.nameservers.split(",") if t.strip()]
    stop = threading.Event()
    held = {}  # topic -> version the client holds ("" = none)

    def shutdown(signum, _frame):
        stop.set()

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)

    # 1. One-shot lookups.
    with grpc.insecure_channel(targets[0]) as ch:
        stub = rq_grpc.RouteQueryStub(ch)
        for topic in args.topic:
            try:
                res = stub.GetRoute(rq.GetRouteRequest(topic=topic), timeout=5)
                held[topic] = res.route.version
                emit("get_route", nameserver=targets[0], topic=topic, version=res.route.version,
                     brokers=[b.broker_name for b in res.route.brokers], route=as_dict(res.route))
            except grpc.RpcError as e:
                held[topic] = ""
                emit("get_route", nameserver=targets[0], topic=topic, code=e.code().name, details=e.details())

    # 2. Follow them on one stream, moving to the next replica when it breaks.
    attempt = 0
    while not stop.is_set():
        target = targets[attempt % len(targets)]
        attempt += 1
        box = queue.Queue()

        def requests():
            yield rq.WatchRoutesRequest(
                subscribe=[rq.TopicSubscription(topic=t, version=v) for t, v in held.items()],
                all_topics=args.all_topics,
            )
            # Keep our side open (the server would keep the watch after a half-close too, but a
            # long-lived client may want to subscribe more later).
            while box.get() is not None:
                pass

        channel = grpc.insecure_channel(
            target,
            options=[("grpc.keepalive_time_ms", 10000), ("grpc.keepalive_timeout_ms", 5000), ("grpc.keepalive_permit_without_calls", 1)],
        )
        call = rq_grpc.RouteQueryStub(channel).WatchRoutes(requests())
        watcher = threading.Thread(target=lambda: (stop.wait(), call.cancel()), daemon=True)
        watcher.start()
        emit("watching", nameserver=target, topics=sorted(held), all_topics=args.all_topics)
        try:
            for res in call:
                for ev in res.events:
                    if ev.type == rq.ROUTE_EVENT_TYPE_UPDATED:
                        held[ev.topic] = ev.route.version
                        emit("route", nameserver=target, topic=ev.topic, type=rq.RouteEventType.Name(ev.type),
                             version=ev.route.version, brokers=[b.broker_name for b in ev.route.brokers], route=as_dict(ev.route))
                    elif ev.type == rq.ROUTE_EVENT_TYPE_REMOVED:
                        held[ev.topic] = ""
                        emit("route", nameserver=target, topic=ev.topic, type=rq.RouteEventType.Name(ev.type), version="", brokers=[])
                    else:
                        # TOO_LARGE (the route does not fit one message) or a type added later: keep what is held.
                        emit("route_error", nameserver=target, topic=ev.topic, type=ev.type, error=ev.error)
                if res.HasField("progress"):
                    p = res.progress
                    emit("progress", nameserver=target, subscribed_topics=p.subscribed_topics, all_topics=p.all_topics,
                         warming_up=p.warming_up, server_id=p.server_id)
        except grpc.RpcError as e:
            if not stop.is_set():
                emit("disconnected", nameserver=target, code=e.code().name, details=e.details())
        finally:
            box.put(None)
            channel.close()
        stop.wait(0.5)
    emit("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
