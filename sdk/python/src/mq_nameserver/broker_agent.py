"""BrokerAgent: what a broker written in Python embeds to join the NameServers. It keeps one ``Connect``
session per NameServer replica (every address the configured names resolve to, re-resolved
periodically), registers the broker's topics, groups and permission there, reports every later change
as a delta, sends positions and instances on a schedule, and hands the NameServers' commands (admin
writes) to the broker's :class:`CommandHandler`.

.. code-block:: python

    class Handler(CommandHandler):
        async def create_topic(self, topic: TopicConfig) -> CommandReply:
            await persist(topic)
            return CommandReply(COMMAND_OUTCOME_OK)

    agent = BrokerAgent(nameservers="nameserver.mq.svc:9876", cluster="c1", broker_name="b1",
                        addresses=["10.0.0.5:10911"], topics=["orders"], handler=Handler())
    await agent.start()
    agent.upsert_topics([TopicConfig(name="payments", read_queue_nums=4, write_queue_nums=4)])
    ...
    await agent.stop()  # unregisters: routes disappear at once

Data versions: the epoch is random per agent start and the counter starts at 1 and grows with every
change of topics, groups or permission, so a NameServer can tell "already held" from "new" and a
restarted broker's registration from a late message of the previous process.

Commands are applied one at a time, in arrival order across sessions. When the broker's handler
answers OK, the agent updates its own configuration and reports the change on every session first,
and only then answers on the session the command came from: the NameServer sees the new state before
the result, so an admin who gets "OK" can read the new route at once.

The same API as the TypeScript SDK (``mq-nameserver/broker-agent``), in snake_case, with durations in
seconds and callbacks (``on_registered`` ...) in place of events.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias, TypeVar, Union

import grpc

from mq_nameserver._backoff import DEFAULT_BACKOFF, BackoffOptions
from mq_nameserver._callbacks import run_callback
from mq_nameserver._local_state import (
    DEFAULT_CHUNK_SIZE,
    BrokerHeader,
    Change,
    GroupInput,
    LocalState,
    TopicInput,
    to_group_config,
    to_topic_config,
)
from mq_nameserver._resolve import entries, resolve_addresses
from mq_nameserver._session import Metadata, PositionsReport, ReportKind, Session, SessionStats
from mq_nameserver.v1 import broker_registry_pb2 as br
from mq_nameserver.v1 import common_pb2 as c
from mq_nameserver.v1.common_pb2 import ClientInstance, GroupConfig, TopicConfig

__all__ = ["BrokerAgent", "CommandHandler", "CommandReply", "SessionInfo"]

_T = TypeVar("_T")


@dataclass(frozen=True)
class CommandReply:
    """What a broker answers to one command."""

    outcome: c.CommandOutcome.ValueType
    message: str = ""
    """Why it failed, or what was already there (shown to the admin)."""


@dataclass(frozen=True)
class SessionInfo:
    """What a NameServer said when it accepted a session."""

    session_id: str
    server_id: str
    grace: float
    """Seconds the NameServer keeps this broker's routes after the stream ends."""


class CommandHandler:
    """The callbacks a broker implements to apply the NameServer's commands (admin writes): subclass it
    and override what the broker supports. Each applies and persists the change, then answers; when it
    answers OK the agent updates its own copy of the configuration and reports it to every NameServer
    before the result goes back. A method not overridden answers FAILED ("not supported"); one that
    raises answers FAILED with the error's message.

    Creates must be idempotent: creating a topic that exists with the same configuration is OK; with
    another configuration it is ALREADY_EXISTS. Updates and deletes of something missing are NOT_FOUND.
    """

    async def create_topic(self, topic: TopicConfig) -> CommandReply:
        """Create a topic."""
        return _unsupported("create_topic")

    async def update_topic(self, topic: TopicConfig) -> CommandReply:
        """Change a topic's configuration."""
        return _unsupported("update_topic")

    async def delete_topic(self, name: str) -> CommandReply:
        """Delete a topic."""
        return _unsupported("delete_topic")

    async def create_group(self, group: GroupConfig) -> CommandReply:
        """Create a consumer group."""
        return _unsupported("create_group")

    async def update_group(self, group: GroupConfig) -> CommandReply:
        """Change a consumer group's configuration."""
        return _unsupported("update_group")

    async def delete_group(self, name: str) -> CommandReply:
        """Delete a consumer group."""
        return _unsupported("delete_group")

    async def set_permission(self, permission: c.Permission.ValueType) -> CommandReply:
        """Change the broker-wide permission (PERMISSION_READ drains the broker)."""
        return _unsupported("set_permission")


def _unsupported(action: str) -> CommandReply:
    return CommandReply(c.COMMAND_OUTCOME_FAILED, f"{action} is not supported by this broker")


MaybeAwaitable: TypeAlias = Union[_T, Awaitable[_T]]  # noqa: UP007 (a generic alias)

_DEFAULT_HANDLER = CommandHandler()


class BrokerAgent:
    """See the module comment.

    :param nameservers: "host:port" addresses, a list or one comma-separated string. A host name expands
        to every address it resolves to (a Kubernetes headless Service) and is re-resolved every
        ``resolve_interval``.
    :param cluster: cluster name. :param broker_name: replica set name.
    :param addresses: addresses clients use to reach this broker ("host:port", at least one).
    :param broker_id: replica id within the replica set; 0 (the default) is the leader.
    :param topics: topics at start; a bare name gets 8 read and 8 write queues, read-write.
    :param groups: groups at start. :param permission: broker-wide permission at start.
    :param handler: applies the NameServer's commands (see :class:`CommandHandler`).
    :param positions: offsets, called every ``report_interval`` and when a session is accepted.
    :param instances: connected client instances, likewise.
    :param report_interval: seconds between positions and instances reports (default 5).
    :param heartbeat_interval: seconds between heartbeats on each session (default 10; 0 = none). The
        stream alone keeps the session alive; heartbeats find a NameServer that lost this broker's state
        while the stream stayed.
    :param resolve_interval: seconds between DNS re-resolutions of ``nameservers`` (default 30; 0 = never).
    :param chunk_size: topics (and groups) per registration chunk (default 5,000).
    :param max_queue_nums: largest queue count accepted for a topic (default 1024, the NameServer's).
    :param backoff: reconnect back-off per session (default 100 ms doubling to 5 s, half jitter).
    :param stop_timeout: deadline of the UnregisterBroker calls made by :meth:`stop` (default 3 s).
    :param credentials: channel credentials (default insecure: loopback and trusted networks).
    :param metadata: sent with every call, e.g. ``[("authorization", "Bearer <broker token>")]``, or a
        function returning it. :param token: shorthand for that authorization entry.
    :param channel_options: extra grpc channel options.
    :param resolve: replaces DNS expansion of ``nameservers`` (custom discovery, tests); an empty answer
        keeps the current sessions (a DNS hiccup must not drop them).
    :param on_registered: ``(address, SessionInfo)``: a session's registration was accepted (again after
        every reconnect). :param on_disconnected: ``(address, error)``: a session's stream ended or
        failed (it reconnects), or the address was dropped. :param on_command: a command arrived (before
        the handler runs). :param on_delta: ``(address, ReportDeltaRequest)``: a delta was sent on a session. :param
        on_command_result: ``(address, CommandResult)``: a command's result was sent
        back on the session it came from (after the change was reported everywhere). :param on_resync: ``(address, reason)``: the NameServer asked for a full
        re-register. :param on_rejected: ``(address, error)``: a registration was refused. :param
        on_reported: ``(address, "positions" | "instances")``: a report was acknowledged. :param
        on_warning: something went wrong that the agent works around.
    """

    def __init__(
        self,
        *,
        nameservers: str | Sequence[str],
        cluster: str,
        broker_name: str,
        addresses: Sequence[str],
        broker_id: int = 0,
        zone: str = "",
        software_version: str = "",
        topics: Sequence[TopicInput] = (),
        groups: Sequence[GroupInput] = (),
        permission: c.Permission.ValueType = c.PERMISSION_READ_WRITE,
        handler: CommandHandler | None = None,
        positions: Callable[[], MaybeAwaitable[PositionsReport]] | None = None,
        instances: Callable[[], MaybeAwaitable[Sequence[ClientInstance]]] | None = None,
        report_interval: float = 5.0,
        heartbeat_interval: float = 10.0,
        resolve_interval: float = 30.0,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        max_queue_nums: int = 1024,
        backoff: BackoffOptions = DEFAULT_BACKOFF,
        stop_timeout: float = 3.0,
        credentials: grpc.ChannelCredentials | None = None,
        metadata: Metadata | Callable[[], Metadata] | None = None,
        token: str | None = None,
        channel_options: Sequence[tuple[str, Any]] = (),
        resolve: Callable[[], Awaitable[Sequence[str]]] | None = None,
        on_registered: Callable[[str, SessionInfo], None] | None = None,
        on_disconnected: Callable[[str, BaseException], None] | None = None,
        on_command: Callable[[br.Command], None] | None = None,
        on_delta: Callable[[str, br.ReportDeltaRequest], None] | None = None,
        on_command_result: Callable[[str, br.CommandResult], None] | None = None,
        on_resync: Callable[[str, str], None] | None = None,
        on_rejected: Callable[[str, str], None] | None = None,
        on_reported: Callable[[str, ReportKind], None] | None = None,
        on_warning: Callable[[BaseException], None] | None = None,
    ) -> None:
        if resolve is None and not entries(nameservers):
            raise ValueError("nameservers: at least one host:port is required")
        if not cluster or not broker_name:
            raise ValueError("cluster and broker_name are required")
        if not addresses:
            raise ValueError("addresses: the broker needs at least one host:port clients can reach")
        self._nameservers = nameservers
        self._max_queue_nums = max_queue_nums
        self._state = LocalState(
            BrokerHeader(cluster, broker_name, broker_id, tuple(addresses), zone, software_version),
            topics=[to_topic_config(t, max_queue_nums) for t in topics],
            groups=[to_group_config(g) for g in groups],
            permission=permission,
            chunk_size=chunk_size,
        )
        self._handler = handler or _DEFAULT_HANDLER
        self._positions = positions
        self._instances = instances
        self._report_interval = report_interval
        self._heartbeat_interval = heartbeat_interval
        self._resolve_interval = resolve_interval
        self._backoff = backoff
        self._stop_timeout = stop_timeout
        self._credentials = credentials
        self._metadata = metadata
        self._token = token
        self._channel_options = tuple(channel_options)
        self._resolve = resolve
        self.on_registered = on_registered
        self.on_disconnected = on_disconnected
        self.on_command = on_command
        self.on_delta = on_delta
        self.on_command_result = on_command_result
        self.on_resync = on_resync
        self.on_rejected = on_rejected
        self.on_reported = on_reported
        self.on_warning = on_warning
        self._sessions: dict[str, Session] = {}
        self._tasks: list[asyncio.Task[Any]] = []
        self._retry_resolve: asyncio.TimerHandle | None = None
        self._resolve_lock = asyncio.Lock()
        self._commands: asyncio.Queue[tuple[Session, br.Command]] = asyncio.Queue()
        self._started = False
        self._stopping: asyncio.Future[None] | None = None
        self._reporting = False

    # --- what the broker reads -------------------------------------------------------------------

    @property
    def epoch(self) -> str:
        """Boot id of this agent (random per start of the process)."""
        return self._state.epoch

    @property
    def counter(self) -> int:
        """Current data version counter."""
        return self._state.counter

    @property
    def permission(self) -> c.Permission.ValueType:
        """Current broker-wide permission."""
        return self._state.permission

    def topics(self) -> list[TopicConfig]:
        """The topics the agent reports."""
        return self._state.topics()

    def groups(self) -> list[GroupConfig]:
        """The groups the agent reports."""
        return self._state.groups()

    def nameservers(self) -> list[str]:
        """NameServer addresses with a session (resolved, not the configured names)."""
        return list(self._sessions)

    def session_stats(self) -> list[SessionStats]:
        """Per-session counters."""
        return [s.snapshot() for s in self._sessions.values()]

    # --- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        """Resolve the NameServers, open a session with each, and start the timers. Returns once sessions
        are opening; ``on_registered`` says when each NameServer has accepted the registration."""
        if self._started:
            raise RuntimeError("BrokerAgent.start() called twice")
        self._started = True
        loop = asyncio.get_running_loop()
        self._tasks.append(loop.create_task(self._run_commands(), name="mq_nameserver commands"))
        await self.refresh_addresses()
        if self._stopped:
            return
        self._every(self._report_interval, self._report_on_schedule)
        self._every(self._heartbeat_interval, self._heartbeat_all)
        self._every(self._resolve_interval, self._refresh_on_schedule)

    async def stop(self) -> None:
        """Graceful leave: UnregisterBroker (with this agent's epoch) on every NameServer, so routes
        disappear at once instead of after the stream grace; then end the streams and the timers.
        Idempotent."""
        if self._stopping is None:
            self._stopping = asyncio.ensure_future(self._leave())
        await asyncio.shield(self._stopping)

    async def __aenter__(self) -> BrokerAgent:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    async def refresh_addresses(self) -> None:
        """Re-resolve the NameServer names now: new addresses get a session, vanished ones are closed.
        An empty answer (DNS down) keeps the current sessions and retries soon."""
        async with self._resolve_lock:
            await self._resolve_once()

    # --- what the broker changes -----------------------------------------------------------------

    def upsert_topics(self, topics: Sequence[TopicInput]) -> None:
        """Add or change topics, and report them to every NameServer. Unchanged ones are skipped."""
        self._broadcast(self._state.upsert_topics([to_topic_config(t, self._max_queue_nums) for t in topics]))

    def delete_topics(self, names: Sequence[str]) -> None:
        """Remove topics, and report it to every NameServer."""
        self._broadcast(self._state.delete_topics(names))

    def upsert_groups(self, groups: Sequence[GroupInput]) -> None:
        """Add or change groups, and report them to every NameServer."""
        self._broadcast(self._state.upsert_groups([to_group_config(g) for g in groups]))

    def delete_groups(self, names: Sequence[str]) -> None:
        """Remove groups, and report it to every NameServer."""
        self._broadcast(self._state.delete_groups(names))

    def set_permission(self, permission: c.Permission.ValueType) -> None:
        """Change the broker-wide permission (PERMISSION_READ drains the broker: producers go
        elsewhere). It is part of the registration only, so every NameServer gets a full re-register."""
        if permission not in c.Permission.values():
            raise ValueError(f"unknown permission {permission}")
        if not self._state.set_permission(permission):
            return
        for s in self._sessions.values():
            if s.ready:
                s.send_registration()

    async def report_now(self) -> None:
        """Send positions and instances to every accepted session now (besides the schedule)."""
        await self._report(list(self._sessions.values()))

    # --- internals -------------------------------------------------------------------------------

    @property
    def _stopped(self) -> bool:
        return self._stopping is not None

    def _every(self, interval: float, tick: Callable[[], None]) -> None:
        if interval <= 0:
            return

        async def loop() -> None:
            while True:
                await asyncio.sleep(interval)
                tick()

        self._tasks.append(asyncio.get_running_loop().create_task(loop()))

    def _heartbeat_all(self) -> None:
        for s in self._sessions.values():
            s.send_heartbeat()

    def _refresh_on_schedule(self) -> None:
        self._spawn(self.refresh_addresses())

    def _spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.append(task)
        task.add_done_callback(self._forget)

    def _forget(self, task: asyncio.Task[Any] | asyncio.Future[Any]) -> None:
        if task in self._tasks:
            self._tasks.remove(task)
        if not task.cancelled() and task.exception() is not None:
            self._warn(task.exception())  # type: ignore[arg-type]

    async def _leave(self) -> None:
        if self._retry_resolve is not None:
            self._retry_resolve.cancel()
        tasks, self._tasks = self._tasks, []
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        sessions = list(self._sessions.values())
        self._sessions.clear()
        for s in sessions:
            s.halt()

        async def bye(s: Session) -> None:
            res = await s.unregister(self._stop_timeout)
            if isinstance(res, BaseException):
                self._warn(RuntimeError(f"{s.address}: unregister failed: {res}"))
            await s.close()

        await asyncio.gather(*(bye(s) for s in sessions))

    async def _resolve_once(self) -> None:
        if self._stopped:
            return
        if self._resolve is not None:
            try:
                fresh = list(await self._resolve())
            except Exception as err:  # noqa: BLE001 (a custom resolver may raise anything)
                self._warn(err)
                fresh = []
        else:
            fresh = await resolve_addresses(
                self._nameservers,
                lambda entry, err: self._warn(RuntimeError(f"cannot resolve NameServer {entry}: {err}")),
            )
        if self._stopped:
            return
        if not fresh:
            self._warn(RuntimeError("no NameServer address resolved; keeping the current sessions"))
            # Without any session the broker is invisible: do not wait a whole resolve interval.
            if not self._sessions and self._retry_resolve is None:

                def retry() -> None:
                    self._retry_resolve = None
                    self._spawn(self.refresh_addresses())

                self._retry_resolve = asyncio.get_running_loop().call_later(self._backoff.max, retry)
            return
        want = dict.fromkeys(fresh)
        for address in want:
            if address in self._sessions:
                continue
            s = Session(
                address,
                _Host(self),
                credentials=self._credentials,
                channel_options=self._channel_options,
                backoff=self._backoff,
            )
            self._sessions[address] = s
            s.open()
        for address, s in list(self._sessions.items()):
            if address in want:
                continue
            # The replica left the DNS answer (scaled down): end the stream; it forgets us after its grace.
            del self._sessions[address]
            self._spawn(s.close())
            self._call(self.on_disconnected, address, ConnectionError("the address is no longer in the NameServer list"))

    def _broadcast(self, change: Change | None) -> None:
        if change is None:
            return
        for s in self._sessions.values():
            s.send_delta(change)

    def _report_on_schedule(self) -> None:
        if self._reporting:
            return  # a slow provider: skip a beat rather than pile up reports
        self._reporting = True

        async def run() -> None:
            try:
                await self._report(list(self._sessions.values()))
            finally:
                self._reporting = False

        self._spawn(run())

    async def _report(self, targets: list[Session]) -> None:
        if (self._positions is None and self._instances is None) or not any(s.ready for s in targets):
            return
        try:
            p = await _maybe_await(self._positions()) if self._positions is not None else None
            i = await _maybe_await(self._instances()) if self._instances is not None else None
        except Exception as err:  # noqa: BLE001 (a provider may raise anything)
            self._warn(RuntimeError(f"positions/instances provider failed: {err}"))
            return
        for s in targets:
            if p is not None:
                s.send_positions(p)
            if i is not None:
                s.send_instances(i)

    def _on_command(self, source: Session, cmd: br.Command) -> None:
        self._call(self.on_command, cmd)
        self._commands.put_nowait((source, cmd))

    async def _run_commands(self) -> None:
        while True:
            source, cmd = await self._commands.get()
            try:
                await self._run_command(source, cmd)
            except Exception as err:  # noqa: BLE001 (the queue goes on whatever happens to one command)
                self._warn(err)

    async def _run_command(self, source: Session, cmd: br.Command) -> None:
        if self._stopped:
            return
        reply = await self._call_handler(cmd)
        if reply.outcome == c.COMMAND_OUTCOME_OK and not self._stopped:
            try:
                self._adopt(cmd)
            except Exception as err:  # noqa: BLE001
                # The broker accepted something the agent cannot report (e.g. an unknown permission).
                reply = CommandReply(c.COMMAND_OUTCOME_FAILED, f"applied by the broker but not reportable: {err}")
        result = br.CommandResult(command_id=cmd.command_id, outcome=reply.outcome, message=reply.message)
        if source.send_command_result(result):
            self._call(self.on_command_result, source.address, result)
        else:
            self._warn(RuntimeError(f"{source.address}: the session closed before the result of command {cmd.command_id} could be sent"))

    async def _call_handler(self, cmd: br.Command) -> CommandReply:
        """Run the broker's handler for a command; never raises."""
        h = self._handler
        action = cmd.WhichOneof("action")

        def missing(field: str) -> CommandReply:
            return CommandReply(c.COMMAND_OUTCOME_INVALID, f"{field} is missing")

        try:
            reply: object
            if action == "create_topic":
                if not cmd.create_topic.HasField("topic"):
                    return missing("create_topic.topic")
                reply = await h.create_topic(cmd.create_topic.topic)
            elif action == "update_topic":
                if not cmd.update_topic.HasField("topic"):
                    return missing("update_topic.topic")
                reply = await h.update_topic(cmd.update_topic.topic)
            elif action == "delete_topic":
                reply = await h.delete_topic(cmd.delete_topic.name)
            elif action == "create_group":
                if not cmd.create_group.HasField("group"):
                    return missing("create_group.group")
                reply = await h.create_group(cmd.create_group.group)
            elif action == "update_group":
                if not cmd.update_group.HasField("group"):
                    return missing("update_group.group")
                reply = await h.update_group(cmd.update_group.group)
            elif action == "delete_group":
                reply = await h.delete_group(cmd.delete_group.name)
            elif action == "set_permission":
                reply = await h.set_permission(cmd.set_permission.permission)
            else:
                return CommandReply(c.COMMAND_OUTCOME_INVALID, "the command has no action this agent knows")
        except Exception as err:  # noqa: BLE001 (the handler is the broker's code)
            return CommandReply(c.COMMAND_OUTCOME_FAILED, str(err) or type(err).__name__)
        if not isinstance(reply, CommandReply):
            return CommandReply(c.COMMAND_OUTCOME_FAILED, "the broker handler returned no CommandReply")
        return reply

    def _adopt(self, cmd: br.Command) -> None:
        """The broker applied a command: take the change into the reported state and report it everywhere."""
        action = cmd.WhichOneof("action")
        if action == "create_topic":
            self._broadcast(self._state.upsert_topics([_copy_topic(cmd.create_topic.topic)]))
        elif action == "update_topic":
            self._broadcast(self._state.upsert_topics([_copy_topic(cmd.update_topic.topic)]))
        elif action == "delete_topic":
            self._broadcast(self._state.delete_topics([cmd.delete_topic.name]))
        elif action == "create_group":
            self._broadcast(self._state.upsert_groups([_copy_group(cmd.create_group.group)]))
        elif action == "update_group":
            self._broadcast(self._state.upsert_groups([_copy_group(cmd.update_group.group)]))
        elif action == "delete_group":
            self._broadcast(self._state.delete_groups([cmd.delete_group.name]))
        elif action == "set_permission":
            self.set_permission(cmd.set_permission.permission)

    def _metadata_now(self) -> Metadata:
        m = self._metadata
        md = list(m() if callable(m) else (m or ()))
        if self._token:
            md = [kv for kv in md if kv[0].lower() != "authorization"] + [("authorization", f"Bearer {self._token}")]
        return md

    def _warn(self, err: BaseException) -> None:
        self._call(self.on_warning, err)

    _call = staticmethod(run_callback)  # what a user callback raises never reaches the session


class _Host:
    """The agent as its sessions see it."""

    def __init__(self, agent: BrokerAgent) -> None:
        self._agent = agent

    @property
    def state(self) -> LocalState:
        return self._agent._state  # noqa: SLF001

    def metadata(self) -> Metadata:
        return self._agent._metadata_now()  # noqa: SLF001

    def accepted(self, s: Session, info: br.SessionAccepted) -> None:
        a = self._agent
        a._call(a.on_registered, s.address, SessionInfo(info.session_id, info.server_id, info.grace_ms / 1000))  # noqa: SLF001
        # A replica that just (re)joined should not wait a whole interval for positions and instances.
        a._spawn(a._report([s]))  # noqa: SLF001

    def command(self, s: Session, cmd: br.Command) -> None:
        self._agent._on_command(s, cmd)  # noqa: SLF001

    def delta(self, s: Session, delta: br.ReportDeltaRequest) -> None:
        self._agent._call(self._agent.on_delta, s.address, delta)  # noqa: SLF001

    def disconnected(self, s: Session, err: BaseException) -> None:
        a = self._agent
        if not a._stopped:  # noqa: SLF001
            a._call(a.on_disconnected, s.address, err)  # noqa: SLF001

    def resync(self, s: Session, reason: str) -> None:
        self._agent._call(self._agent.on_resync, s.address, reason)  # noqa: SLF001

    def rejected(self, s: Session, error: str) -> None:
        self._agent._call(self._agent.on_rejected, s.address, error)  # noqa: SLF001

    def reported(self, s: Session, kind: ReportKind) -> None:
        self._agent._call(self._agent.on_reported, s.address, kind)  # noqa: SLF001

    def warning(self, err: BaseException) -> None:
        self._agent._warn(err)  # noqa: SLF001


async def _maybe_await(value: MaybeAwaitable[_T]) -> _T:
    if inspect.isawaitable(value):
        return await value
    return value


def _copy_topic(t: TopicConfig) -> TopicConfig:
    out = TopicConfig()
    out.CopyFrom(t)
    return out


def _copy_group(g: GroupConfig) -> GroupConfig:
    out = GroupConfig()
    out.CopyFrom(g)
    return out
