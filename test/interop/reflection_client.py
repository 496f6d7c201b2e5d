#!/usr/bin/env python3
"""A strict reflection consumer on another stack: grpcio, grpcio-reflection and protobuf from PyPI,
with NO generated stubs of the NameServer contract.

Everything it knows about the API comes from the server's reflection service:

  1. lists the services (grpcio-reflection's ProtoReflectionDescriptorDatabase, which asks
     grpc.reflection.v1alpha.ServerReflection; grpcio-reflection has no v1 client);
  2. builds a protobuf DescriptorPool on that database and resolves every listed service, which
     pulls each service's file and the files it imports from the server, by symbol and by file name;
  3. calls RouteQuery/GetRoute, Admin/ListBrokers and a RouteQuery/WatchRoutes stream with messages
     whose classes come from that pool (message_factory.GetMessageClass), through grpcio's generic
     channel.unary_unary / channel.stream_stream with the classes' SerializeToString and FromString.
     Fields are addressed by the names the .proto files declare (snake_case), as any consumer of the
     contract would write them.

One JSON object per line on stdout (test/integration/reflection-python.test.ts reads them):

  {"event": "services", "services": [...]}
  {"event": "service", "service": "...", "file": "...", "dependencies": [...], "methods": [...]}
  {"event": "file", "file": "...", "package": "...", "messages": [...every message, nested too...]}
  {"event": "get_route", "topic": "...", "version": "...", "brokers": [...], "route": {...}}
  {"event": "list_brokers", "brokers": [{...canonical proto3 JSON...}, ...]}
  {"event": "watching", "topics": [...]}
  {"event": "route", "topic": "...", "type": "ROUTE_EVENT_TYPE_UPDATED", "version": "...", ...}
  {"event": "progress", ...}
  {"event": "done", "route_events": N}
  {"event": "error", "stage": "...", "error": "..."}        (exit status 1)

  .tools/venv/bin/python test/interop/reflection_client.py --target 127.0.0.1:9876 --topic orders \\
      --watch-events 2

The watch ends after --watch-events route events, on SIGTERM/SIGINT, or after --timeout-s.
"""
import argparse
import json
import signal
import sys
import threading

import grpc
from google.protobuf import descriptor_pool, json_format, message_factory
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

ROUTE_QUERY = "nameserver.v1.RouteQuery"
ADMIN = "nameserver.v1.Admin"


def emit(event, **fields):
    sys.stdout.write(json.dumps({"event": event, **fields}, sort_keys=True) + "\n")
    sys.stdout.flush()


def as_dict(msg):
    # Canonical proto3 JSON (json_name from the descriptor, enum names, defaults omitted), so the test
    # can compare it with what the TypeScript runtime prints for the same message.
    return json_format.MessageToDict(msg)


class Failed(Exception):
    """A step that failed; `stage` says which, the chained cause says why."""

    def __init__(self, stage):
        super().__init__(stage)
        self.stage = stage


class Reflected:
    """Services, methods and message classes from a DescriptorPool fed only by server reflection."""

    def __init__(self, channel):
        self.channel = channel
        self.db = ProtoReflectionDescriptorDatabase(channel)
        self.pool = descriptor_pool.DescriptorPool(self.db)

    def method(self, service, name):
        m = self.pool.FindServiceByName(service).methods_by_name.get(name)
        if m is None:
            raise KeyError("reflection describes no method %s/%s" % (service, name))
        return m

    def callable(self, service, name, streaming):
        """grpcio's generic callable for a method, and its request class, both from the pool."""
        m = self.method(service, name)
        if m.client_streaming != streaming or m.server_streaming != streaming:
            raise ValueError("%s/%s: reflection says client_streaming=%s server_streaming=%s" % (service, name, m.client_streaming, m.server_streaming))
        req, res = message_factory.GetMessageClass(m.input_type), message_factory.GetMessageClass(m.output_type)
        make = self.channel.stream_stream if streaming else self.channel.unary_unary
        call = make(
            "/%s/%s" % (m.containing_service.full_name, m.name),
            request_serializer=req.SerializeToString,
            response_deserializer=res.FromString,
        )
        return call, req


def all_messages(file):
    """Full names of every message type of a file, nested ones (map entries) included."""
    out = []

    def walk(messages):
        for m in messages:
            out.append(m.full_name)
            walk(m.nested_types)

    walk(file.message_types_by_name.values())
    return out


def parse_args(argv):
    p = argparse.ArgumentParser(description="Strict reflection client: no stubs, descriptors from the server.")
    p.add_argument("--target", required=True, help="host:port of a NameServer")
    p.add_argument("--topic", action="append", default=[], help="topic for GetRoute and WatchRoutes (repeatable)")
    p.add_argument("--cluster", default="", help="cluster for Admin/ListBrokers (empty = all)")
    p.add_argument("--watch-events", type=int, default=1, help="end the watch after this many route events (0 = no watch)")
    p.add_argument("--timeout-s", type=float, default=120.0, help="deadline of the WatchRoutes call")
    return p.parse_args(argv)


def run(args, channel, r):
    stage = "list services"
    try:
        # 1. Services, by reflection.
        services = sorted(r.db.get_services())
        emit("services", services=services)

        # 2. Every service resolved into the pool by symbol, then every file involved by name.
        files = []
        for name in services:
            stage = "resolve service %s" % name
            svc = r.pool.FindServiceByName(name)
            deps = [d.name for d in svc.file.dependencies]
            for f in [svc.file.name, *deps]:
                if f not in files:
                    files.append(f)
            emit(
                "service",
                service=svc.full_name,
                file=svc.file.name,
                dependencies=deps,
                methods=[
                    {
                        "name": m.name,
                        "input": m.input_type.full_name,
                        "output": m.output_type.full_name,
                        "client_streaming": m.client_streaming,
                        "server_streaming": m.server_streaming,
                    }
                    for m in svc.methods
                ],
            )
        for f in files:
            stage = "resolve file %s" % f
            fd = r.pool.FindFileByName(f)
            emit("file", file=fd.name, package=fd.package, messages=all_messages(fd))

        # 3a. GetRoute per topic.
        stage = "GetRoute"
        get_route, GetRouteRequest = r.callable(ROUTE_QUERY, "GetRoute", streaming=False)
        for topic in args.topic:
            try:
                res = get_route(GetRouteRequest(topic=topic), timeout=10)
            except grpc.RpcError as err:
                emit("get_route", topic=topic, code=err.code().name, details=err.details())
                continue
            emit("get_route", topic=topic, version=res.route.version, brokers=[b.broker_name for b in res.route.brokers], route=as_dict(res.route))

        # 3b. Admin/ListBrokers.
        stage = "ListBrokers"
        list_brokers, ListBrokersRequest = r.callable(ADMIN, "ListBrokers", streaming=False)
        res = list_brokers(ListBrokersRequest(cluster=args.cluster, page_size=0), timeout=10)
        emit("list_brokers", brokers=[as_dict(b) for b in res.brokers], names=[b.broker_name for b in res.brokers])

        if args.watch_events <= 0:
            emit("done", route_events=0)
            return 0

        # 3c. WatchRoutes: subscribe the topics holding no version, then print events until enough
        # route events arrived. The nested TopicSubscription class comes from the pool as well.
        stage = "WatchRoutes"
        watch_routes, WatchRoutesRequest = r.callable(ROUTE_QUERY, "WatchRoutes", streaming=True)
        TopicSubscription = message_factory.GetMessageClass(WatchRoutesRequest.DESCRIPTOR.fields_by_name["subscribe"].message_type)
        event_type = r.pool.FindEnumTypeByName("nameserver.v1.RouteEventType")
        return watch(args, watch_routes, WatchRoutesRequest, TopicSubscription, event_type)
    except Exception as err:  # noqa: BLE001 - every failure is reported with its stage, then exit 1
        raise Failed(stage) from err


def watch(args, watch_routes, WatchRoutesRequest, TopicSubscription, event_type):
    stop = threading.Event()

    def requests():
        yield WatchRoutesRequest(subscribe=[TopicSubscription(topic=t) for t in args.topic])
        stop.wait()  # keep our side of the stream open while we read

    call = watch_routes(requests(), timeout=args.timeout_s)

    def on_signal(*_):
        stop.set()
        call.cancel()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, on_signal)
    emit("watching", topics=sorted(args.topic))
    seen = 0
    try:
        for res in call:
            for ev in res.events:
                seen += 1
                emit(
                    "route",
                    topic=ev.topic,
                    type=event_type.values_by_number[ev.type].name,
                    version=ev.route.version,
                    brokers=[b.broker_name for b in ev.route.brokers],
                    route=as_dict(ev.route),
                )
            if res.HasField("progress"):
                emit("progress", **as_dict(res.progress))
            if seen >= args.watch_events:
                break
    except grpc.RpcError:
        if not stop.is_set():
            raise
    finally:
        stop.set()
        call.cancel()
    emit("done", route_events=seen)
    return 0 if seen >= args.watch_events else 1


def main(argv):
    args = parse_args(argv)
    channel = grpc.insecure_channel(args.target)
    try:
        return run(args, channel, Reflected(channel))
    except Failed as err:
        cause = err.__cause__
        detail = "%s: %s" % (cause.code().name, cause.details()) if isinstance(cause, grpc.RpcError) else "%s: %s" % (type(cause).__name__, cause)
        emit("error", stage=err.stage, error=detail)
        return 1
    finally:
        channel.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
