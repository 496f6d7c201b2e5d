"""The Python runner of the SDK conformance suite (test/conformance/README.md describes the format): it
plays a scenario's steps with the Python SDK (``NameServerClient``, ``BrokerAgent``) against NameServer
processes it starts on loopback, and returns the scenario's reports. Every wait re-checks its condition
after each event of the objects it watches (SDK callbacks); none sleeps."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import grpc.aio
from helpers import ROOT, Api, NameServerProcess

from mq_nameserver import (
    BackoffOptions,
    BrokerAgent,
    CommandHandler,
    CommandReply,
    NameServerClient,
    Route,
    RouteChange,
    TopicConfig,
    Watch,
    same_topic_config,
)
from mq_nameserver.v1 import admin_pb2 as adm
from mq_nameserver.v1 import common_pb2 as c
from mq_nameserver.v1 import route_query_pb2 as rq

SCENARIO_DIR = Path(os.environ.get("CONFORMANCE_SCENARIOS", ROOT / "test" / "conformance" / "scenarios"))
"""Where the scenario files live (``$CONFORMANCE_SCENARIOS`` overrides it)."""

BROKER_PROGRAM = Path(__file__).with_name("conformance_broker.py")

Step = dict[str, Any]

# The fields each action takes (besides "do" and "note"); anything else is an error.
FIELDS: dict[str, tuple[str, ...]] = {
    "start_replicas": ("replicas",),
    "start_broker": ("name", "address", "replicas", "topics", "queues", "cluster", "chunk_size", "process", "report", "within_ms"),
    "start_client": ("name", "replicas"),
    "watch": ("client", "topics"),
    "expect_connected": ("client", "replicas", "within_ms"),
    "expect_view": ("client", "topics", "brokers", "queues", "since", "report", "budget_ms", "within_ms"),
    "expect_route_events": ("client", "since", "events", "bytes", "report"),
    "mark": ("name",),
    "kill_replica": ("replica", "signal"),
    "kill_broker": ("broker",),
    "admin": ("replica", "call", "topic", "broker_names", "expect"),
    "get_route": ("client", "replica", "topic", "brokers", "queues", "error"),
    "expect_broker_commands": ("broker", "commands"),
    "expect_registration": ("broker", "chunks", "topics", "report"),
}

DEFAULT_WITHIN_MS = 15_000
DEFAULT_QUEUES = 8
BACKOFF = BackoffOptions(initial=0.05, max=1.0)


def load_scenarios(directory: Path = SCENARIO_DIR) -> list[dict[str, Any]]:
    """Every scenario file, in file name order; each must be well-formed."""
    if not directory.is_dir():
        raise FileNotFoundError(f"no conformance scenarios at {directory}")
    out = []
    for path in sorted(directory.glob("*.json")):
        s = json.loads(path.read_text("utf-8"))
        if s.get("name") != path.stem:
            raise ValueError(f"{path.name}: name {s.get('name')!r} differs from the file name")
        if not isinstance(s.get("steps"), list) or not s["steps"]:
            raise ValueError(f"{path.name}: no steps")
        out.append(s)
    return out


def topic_configs(entries: list[Any], queues: int = DEFAULT_QUEUES) -> list[TopicConfig]:
    """Expand a topic set (names, {"prefix", "count"}, configurations) in order, without duplicates."""
    out: dict[str, TopicConfig] = {}

    def add(name: str, r: int = queues, w: int = queues) -> None:
        if name not in out:
            out[name] = TopicConfig(name=name, read_queue_nums=r, write_queue_nums=w, permission=c.PERMISSION_READ_WRITE, message_type=c.MESSAGE_TYPE_NORMAL)

    for e in entries:
        if isinstance(e, str):
            add(e)
        elif "prefix" in e:
            for i in range(int(e["count"])):
                add(f"{e['prefix']}{i}")
        else:
            add(e["name"], e.get("read_queue_nums", queues), e.get("write_queue_nums", queues))
    return list(out.values())


def topic_names(entries: list[Any]) -> list[str]:
    return [t.name for t in topic_configs(entries)]


def sorted_brokers(route: Route | None) -> list[str]:
    return sorted(b.broker_name for b in route.brokers) if route is not None else []


@dataclass(frozen=True)
class Answered:
    """One command the store handler answered."""

    action: str
    name: str
    outcome: str


class StoreHandler(CommandHandler):
    """The conformance store handler (see the README): topics in memory, every answer recorded."""

    def __init__(self, initial: list[TopicConfig], answered: list[Answered]) -> None:
        self._store = {t.name: t for t in initial}
        self._answered = answered

    def _answer(self, action: str, name: str, outcome: c.CommandOutcome.ValueType) -> CommandReply:
        self._answered.append(Answered(action, name, c.CommandOutcome.Name(outcome)))
        return CommandReply(outcome)

    async def create_topic(self, topic: TopicConfig) -> CommandReply:
        held = self._store.get(topic.name)
        if held is not None and not same_topic_config(held, topic):
            return self._answer("create_topic", topic.name, c.COMMAND_OUTCOME_ALREADY_EXISTS)
        self._store[topic.name] = topic
        return self._answer("create_topic", topic.name, c.COMMAND_OUTCOME_OK)

    async def update_topic(self, topic: TopicConfig) -> CommandReply:
        if topic.name not in self._store:
            return self._answer("update_topic", topic.name, c.COMMAND_OUTCOME_NOT_FOUND)
        self._store[topic.name] = topic
        return self._answer("update_topic", topic.name, c.COMMAND_OUTCOME_OK)

    async def delete_topic(self, name: str) -> CommandReply:
        if self._store.pop(name, None) is None:
            return self._answer("delete_topic", name, c.COMMAND_OUTCOME_NOT_FOUND)
        return self._answer("delete_topic", name, c.COMMAND_OUTCOME_OK)


@dataclass
class Replica:
    process: NameServerProcess
    api: Api


@dataclass
class Broker:
    replicas: list[str]
    answered: list[Answered] = field(default_factory=list)
    agent: BrokerAgent | None = None
    process: asyncio.subprocess.Process | None = None


@dataclass
class Client:
    sdk: NameServerClient
    view: dict[str, tuple[Route | None, float]] = field(default_factory=dict)
    watches: list[Watch] = field(default_factory=list)


@dataclass(frozen=True)
class Mark:
    at: float
    counters: dict[str, tuple[int, int]]


@dataclass(frozen=True)
class Report:
    """A measured number and, when the scenario gives one, its budget (printed, never asserted)."""

    value: int
    budget_ms: int | None = None


class StepFailed(AssertionError):
    """A step's expectation was not met."""


def _str(step: Step, key: str) -> str:
    v = step.get(key)
    if not isinstance(v, str) or not v:
        raise StepFailed(f'{step["do"]}: "{key}" must be a non-empty string')
    return v


def _num(step: Step, key: str, default: int | None = None) -> int:
    v = step.get(key, default)
    if not isinstance(v, int) or isinstance(v, bool) or v < 0:
        raise StepFailed(f'{step["do"]}: "{key}" must be a non-negative integer')
    return v


def _strings(step: Step, key: str) -> list[str]:
    v = step.get(key)
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise StepFailed(f'{step["do"]}: "{key}" must be an array of strings')
    return list(v)


class ScenarioRun:
    """Plays one scenario. :meth:`run` always cleans up what it started."""

    def __init__(self, scenario: dict[str, Any]) -> None:
        self.scenario = scenario
        self.reports: dict[str, Report] = {}
        self._replicas: dict[str, Replica] = {}
        self._brokers: dict[str, Broker] = {}
        self._clients: dict[str, Client] = {}
        self._marks: dict[str, Mark] = {}
        self._waiters: list[asyncio.Future[None]] = []

    async def run(self) -> dict[str, Report]:
        """Run every step; raises the first failure, naming the step."""
        try:
            for i, step in enumerate(self.scenario["steps"]):
                try:
                    await self._step(step)
                except Exception as err:
                    raise StepFailed(f"{self.scenario['name']}: step {i + 1} ({json.dumps(step)}): {err}") from err
            return self.reports
        finally:
            await self._cleanup()

    def report_line(self) -> str:
        """The reports as one line, e.g. "failover_bytes=0 removal_ms_w1=2043 (budget 3000)"."""
        return " ".join(f"{k}={r.value}" + (f" (budget {r.budget_ms})" if r.budget_ms is not None else "") for k, r in self.reports.items())

    # --- waiting on events -----------------------------------------------------------------------

    def _changed(self, *_: Any) -> None:
        waiters, self._waiters = self._waiters, []
        for w in waiters:
            if not w.done():
                w.set_result(None)

    async def _until(self, check: Callable[[], bool], within_ms: int, what: Callable[[], str]) -> None:
        """Return once ``check()`` holds (checked now and after every change event)."""
        deadline = time.monotonic() + within_ms / 1000
        while not check():
            left = deadline - time.monotonic()
            if left <= 0:
                raise StepFailed(f"not met within {within_ms} ms: {what()}")
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.append(fut)
            try:
                await asyncio.wait_for(fut, left)
            except TimeoutError:
                pass

    # --- steps -----------------------------------------------------------------------------------

    async def _step(self, step: Step) -> None:
        allowed = FIELDS.get(step.get("do", ""))
        if allowed is None:
            raise StepFailed(f"unknown action {step.get('do')!r}")
        for k in step:
            if k not in ("do", "note") and k not in allowed:
                raise StepFailed(f"unknown field {k!r}")
        action: Callable[[Step], Awaitable[None]] = getattr(self, f"_{step['do']}")
        await action(step)

    def _replica(self, name: str) -> Replica:
        if name not in self._replicas:
            raise StepFailed(f"no replica {name!r}")
        return self._replicas[name]

    def _client(self, name: str) -> Client:
        if name not in self._clients:
            raise StepFailed(f"no client {name!r}")
        return self._clients[name]

    def _broker(self, name: str) -> Broker:
        if name not in self._brokers:
            raise StepFailed(f"no broker {name!r}")
        return self._brokers[name]

    def _mark_of(self, name: str) -> Mark:
        if name not in self._marks:
            raise StepFailed(f"no mark {name!r}")
        return self._marks[name]

    async def _start_replicas(self, step: Step) -> None:
        entries = step.get("replicas")
        if not isinstance(entries, list) or not entries:
            raise StepFailed('"replicas" must be a non-empty array')
        procs: list[tuple[str, NameServerProcess]] = []
        for r in entries:
            if r["name"] in self._replicas or any(n == r["name"] for n, _ in procs):
                raise StepFailed(f"replica {r['name']} exists")
            procs.append((r["name"], NameServerProcess("--warmup-ms", "0", *r.get("args", []))))
        try:
            await asyncio.gather(*(p.astart() for _, p in procs))
        finally:
            for name, p in procs:
                if p.port:
                    self._replicas[name] = Replica(p, Api(p.address))
                else:
                    p.kill()

    async def _start_broker(self, step: Step) -> None:
        name = _str(step, "name")
        if name in self._brokers:
            raise StepFailed(f"broker {name} exists")
        addresses = [self._replica(r).process.address for r in _strings(step, "replicas")]
        topics = topic_configs(step["topics"], _num(step, "queues", DEFAULT_QUEUES))
        chunk_size = step.get("chunk_size")
        broker = self._brokers[name] = Broker(addresses)
        started = time.monotonic()
        if step.get("process") is True:
            config = {
                "nameservers": addresses,
                "cluster": step.get("cluster", "c1"),
                "broker_name": name,
                "addresses": [_str(step, "address")],
                "topics": [{"name": t.name, "read_queue_nums": t.read_queue_nums, "write_queue_nums": t.write_queue_nums} for t in topics],
                "chunk_size": chunk_size,
            }
            broker.process = await _start_broker_process(config)
        else:
            pending = set(addresses)

            def registered(address: str, _info: object) -> None:
                pending.discard(address)
                self._changed()

            agent = broker.agent = BrokerAgent(
                nameservers=addresses,
                cluster=step.get("cluster", "c1"),
                broker_name=name,
                addresses=[_str(step, "address")],
                topics=topics,
                handler=StoreHandler(topics, broker.answered),
                backoff=BACKOFF,
                on_registered=registered,
                **({"chunk_size": chunk_size} if chunk_size is not None else {}),
            )
            await agent.start()
            await self._until(lambda: not pending, _num(step, "within_ms", DEFAULT_WITHIN_MS), lambda: f"registered with {', '.join(sorted(pending))}")
        if isinstance(step.get("report"), str):
            self.reports[step["report"]] = Report(round((time.monotonic() - started) * 1000))

    async def _start_client(self, step: Step) -> None:
        name = _str(step, "name")
        if name in self._clients:
            raise StepFailed(f"client {name} exists")
        sdk = NameServerClient(
            [self._replica(r).process.address for r in _strings(step, "replicas")],
            backoff=BACKOFF,
            on_connected=self._changed,
            on_disconnected=self._changed,
        )
        self._clients[name] = Client(sdk)

    async def _watch(self, step: Step) -> None:
        client = self._client(_str(step, "client"))

        def on_change(ch: RouteChange) -> None:
            client.view[ch.topic] = (ch.route, time.monotonic())
            self._changed()

        client.watches.append(client.sdk.watch(topic_names(step["topics"]), on_change))

    async def _expect_connected(self, step: Step) -> None:
        client = self._client(_str(step, "client"))
        want = [self._replica(r).process.address for r in _strings(step, "replicas")]
        await self._until(
            lambda: client.sdk.address in want,
            _num(step, "within_ms", DEFAULT_WITHIN_MS),
            lambda: f"connected to {' or '.join(want)} (now: {client.sdk.address or 'none'})",
        )

    async def _expect_view(self, step: Step) -> None:
        client = self._client(_str(step, "client"))
        topics = topic_names(step["topics"])
        brokers = sorted(_strings(step, "brokers"))
        queues = None if step.get("queues") is None else _num(step, "queues")

        def holds(t: str) -> bool:
            route = client.view.get(t, (None, 0.0))[0]
            if sorted_brokers(route) != brokers:
                return False
            return queues is None or route is None or all(b.read_queue_nums == queues and b.write_queue_nums == queues for b in route.brokers)

        def what() -> str:
            off = [t for t in topics if not holds(t)]
            first = off[0] if off else ""
            q = f" with {queues} queues" if queues is not None else ""
            return f"view of {len(off)} topic(s) not {brokers}{q}, e.g. {first}: {sorted_brokers(client.view.get(first, (None, 0.0))[0])}"

        await self._until(lambda: all(holds(t) for t in topics), _num(step, "within_ms", DEFAULT_WITHIN_MS), what)
        if isinstance(step.get("report"), str):
            since = self._mark_of(_str(step, "since"))
            last = max(client.view.get(t, (None, since.at))[1] for t in topics)
            budget = step.get("budget_ms")
            self.reports[step["report"]] = Report(round((last - since.at) * 1000), budget if isinstance(budget, int) else None)

    async def _expect_route_events(self, step: Step) -> None:
        name = _str(step, "client")
        client = self._client(name)
        if step.get("since") is None:
            base: tuple[int, int] | None = (0, 0)
        else:
            base = self._mark_of(_str(step, "since")).counters.get(name)
        if base is None:
            raise StepFailed(f"client {name} did not exist at mark {step.get('since')}")
        events = client.sdk.stats.route_events - base[0]
        nbytes = client.sdk.stats.route_event_bytes - base[1]
        if step.get("events") is not None and events != _num(step, "events"):
            raise StepFailed(f"{events} route events, expected {step['events']}")
        if step.get("bytes") is not None and nbytes != _num(step, "bytes"):
            raise StepFailed(f"{nbytes} route event bytes, expected {step['bytes']}")
        if isinstance(step.get("report"), str):
            self.reports[step["report"]] = Report(nbytes)

    async def _mark(self, step: Step) -> None:
        counters = {n: (cl.sdk.stats.route_events, cl.sdk.stats.route_event_bytes) for n, cl in self._clients.items()}
        self._marks[_str(step, "name")] = Mark(time.monotonic(), counters)

    async def _kill_replica(self, step: Step) -> None:
        r = self._replica(_str(step, "replica"))
        sig = _str(step, "signal")
        if sig not in ("SIGKILL", "SIGTERM"):
            raise StepFailed(f"signal must be SIGKILL or SIGTERM, got {sig}")
        r.process.kill(getattr(signal, sig))
        await r.process.wait()

    async def _kill_broker(self, step: Step) -> None:
        b = self._broker(_str(step, "broker"))
        if b.process is None:
            raise StepFailed('kill_broker needs a broker started with "process": true')
        b.process.kill()
        await b.process.wait()

    async def _admin(self, step: Step) -> None:
        r = self._replica(_str(step, "replica"))
        t = step["topic"]
        names = list(step.get("broker_names", []))
        call = step.get("call")
        response: adm.CreateTopicResponse | adm.UpdateTopicResponse | adm.DeleteTopicResponse
        failed = False
        try:
            if call == "create_topic":
                response = adm.CreateTopicResponse()
                response = await r.api.admin.CreateTopic(adm.CreateTopicRequest(topic=topic_configs([t])[0], broker_names=names))
            elif call == "update_topic":
                response = adm.UpdateTopicResponse()
                response = await r.api.admin.UpdateTopic(adm.UpdateTopicRequest(topic=topic_configs([t])[0], broker_names=names))
            elif call == "delete_topic":
                response = adm.DeleteTopicResponse()
                response = await r.api.admin.DeleteTopic(adm.DeleteTopicRequest(topic=t["name"], broker_names=names))
            else:
                raise StepFailed(f"unknown admin call {call!r}")
        except grpc.aio.AioRpcError as err:
            # A write that not every target applied fails with a status; its trailing metadata
            # `nameserver-results-bin` carries the encoded response with every broker's outcome.
            raw = next((v for k, v in (err.trailing_metadata() or ()) if k == "nameserver-results-bin"), None)
            if not isinstance(raw, bytes):
                raise
            response.ParseFromString(raw)
            failed = True
        results = list(response.results)
        all_ok = all(x.outcome == c.COMMAND_OUTCOME_OK for x in results)
        if failed == all_ok:
            outcomes = ", ".join(c.CommandOutcome.Name(x.outcome) for x in results)
            raise StepFailed(f"the call {'failed' if failed else 'succeeded'} with outcomes {outcomes}")
        got = {x.broker_name: c.CommandOutcome.Name(x.outcome) for x in results}
        want = dict(step["expect"])
        if len(results) != len(want) or got != want:
            messages = "; ".join(x.message for x in results if x.message)
            raise StepFailed(f"results {json.dumps(got, sort_keys=True)} ({messages}), expected {json.dumps(want, sort_keys=True)}")

    async def _get_route(self, step: Step) -> None:
        topic = _str(step, "topic")
        if ("client" in step) == ("replica" in step):
            raise StepFailed('exactly one of "client" and "replica"')
        route: Route | None = None
        error: str | None = None
        try:
            if "client" in step:
                route = await self._client(_str(step, "client")).sdk.get_route(topic)
            else:
                res = await self._replica(_str(step, "replica")).api.routes.GetRoute(rq.GetRouteRequest(topic=topic), timeout=10)
                route = res.route
        except grpc.aio.AioRpcError as err:
            error = err.code().name
            if step.get("error") is None:
                raise StepFailed(f"GetRoute {topic} failed: {error}: {err.details()}") from err
        if step.get("error") is not None:
            if error != step["error"]:
                raise StepFailed(f"GetRoute {topic}: expected {step['error']}, got {error or f'a route {sorted_brokers(route)}'}")
            return
        brokers = sorted(_strings(step, "brokers"))
        if sorted_brokers(route) != brokers:
            raise StepFailed(f"GetRoute {topic}: brokers {sorted_brokers(route)}, expected {brokers}")
        if step.get("queues") is not None and route is not None:
            q = _num(step, "queues")
            for b in route.brokers:
                if b.read_queue_nums != q or b.write_queue_nums != q:
                    raise StepFailed(f"GetRoute {topic}: {b.broker_name} has {b.read_queue_nums}/{b.write_queue_nums} queues, expected {q}")

    async def _expect_broker_commands(self, step: Step) -> None:
        b = self._broker(_str(step, "broker"))
        if b.agent is None:
            raise StepFailed("expect_broker_commands needs an in-process broker")
        want = [Answered(x["action"], x["name"], x["outcome"]) for x in step["commands"]]
        if b.answered != want:
            raise StepFailed(f"the broker answered {b.answered}, expected {want}")

    async def _expect_registration(self, step: Step) -> None:
        name = _str(step, "broker")
        b = self._broker(name)
        if b.agent is None:
            raise StepFailed("expect_registration needs an in-process broker")
        chunks, topics = _num(step, "chunks"), _num(step, "topics")
        stats = b.agent.session_stats()
        if len(stats) != len(b.replicas):
            raise StepFailed(f"{len(stats)} sessions, expected {len(b.replicas)}")
        for s in stats:
            if s.last_chunk_count != chunks:
                raise StepFailed(f"{s.address}: registration sent in {s.last_chunk_count} chunks, expected {chunks}")
            replica = next(r for r in self._replicas.values() if r.process.address == s.address)
            listed = await replica.api.admin.ListBrokers(adm.ListBrokersRequest())
            entry = next((x for x in listed.brokers if x.broker_name == name), None)
            if entry is None or entry.topic_count != topics:
                raise StepFailed(f"{s.address}: holds {entry.topic_count if entry else 'no'} topics of {name}, expected {topics}")
        if isinstance(step.get("report"), str):
            self.reports[step["report"]] = Report(chunks)

    async def _cleanup(self) -> None:
        for cl in self._clients.values():
            for w in cl.watches:
                w.close()
            await cl.sdk.close()

        async def stop_broker(b: Broker) -> None:
            if b.agent is not None:
                await b.agent.stop()
            if b.process is not None and b.process.returncode is None:
                b.process.kill()
                await b.process.wait()

        await asyncio.gather(*(stop_broker(b) for b in self._brokers.values()))
        for r in self._replicas.values():
            await r.api.close()
        await asyncio.gather(*(r.process.stop() for r in self._replicas.values()))


async def _start_broker_process(config: dict[str, Any]) -> asyncio.subprocess.Process:
    """Start conformance_broker.py; returns once it printed "registered" for every NameServer."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(BROKER_PROGRAM), json.dumps(config), stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE
    )
    pending = set(config["nameservers"])

    async def registered() -> None:
        assert proc.stdout is not None
        while pending:
            line = await proc.stdout.readline()
            if not line:
                raise StepFailed(f"broker process exited early ({await proc.wait()})")
            event = json.loads(line)
            if event.get("event") == "registered":
                pending.discard(event.get("address"))

    try:
        await asyncio.wait_for(registered(), DEFAULT_WITHIN_MS / 1000)
    except BaseException:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        raise
    return proc
