"""One broker session with one NameServer replica: a ``Connect`` stream that registers (in chunks when
large), then carries deltas, heartbeats, positions, instances and command results, each with a non-zero
seq so the NameServer acknowledges it. The session tracks the data version counter the NameServer holds
once it has processed everything sent so far: a delta is based on it, and an Ack that asks for a
re-register (or a failed delta or heartbeat) makes the session send the full registration again. A
stream that fails or ends is reopened with jittered exponential back-off, and starts over with a full
registration.

Messages are written in order on one stream and the NameServer processes them in order, so the session
pipelines: it does not wait for one Ack before sending the next message. It only waits for ``accepted``
before sending anything but the registration, because anything else before a complete registration
ends the stream."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal, Protocol

import grpc
import grpc.aio

from mq_nameserver._backoff import Backoff, BackoffOptions
from mq_nameserver._local_state import Change, LocalState
from mq_nameserver.client import KEEPALIVE_OPTIONS, StreamEnded
from mq_nameserver.v1 import broker_registry_pb2 as br
from mq_nameserver.v1.broker_registry_pb2_grpc import BrokerRegistryStub

if TYPE_CHECKING:
    from mq_nameserver.v1.broker_registry_pb2_grpc import BrokerRegistryAsyncStub
from mq_nameserver.v1.common_pb2 import ClientInstance, ConsumerPosition, DataVersion, QueuePosition

SessionPhase = Literal["connecting", "registering", "ready", "closed"]
"""How a session stands."""
ReportKind = Literal["positions", "instances"]

Metadata = Sequence[tuple[str, str]]


@dataclass(frozen=True)
class PositionsReport:
    """Offsets a broker reports (a full report: it replaces what the NameServer held)."""

    queue_positions: Sequence[QueuePosition] = ()
    consumer_positions: Sequence[ConsumerPosition] = ()


@dataclass(frozen=True)
class SessionStats:
    """Counters of one NameServer session, for tests, logs and metrics."""

    address: str
    phase: SessionPhase = "connecting"
    held_counter: int | None = None
    """The data version counter this NameServer holds once it processed what was sent (None: none)."""
    connects: int = 0
    """Streams opened."""
    registrations: int = 0
    """Full registrations sent (each possibly in several chunks)."""
    chunks_sent: int = 0
    """Registration chunks sent."""
    last_chunk_count: int = 0
    """Chunks of the latest registration."""
    deltas_sent: int = 0
    heartbeats_sent: int = 0
    positions_sent: int = 0
    instances_sent: int = 0
    command_results_sent: int = 0
    resyncs: int = 0
    """Full registrations the NameServer asked for (reregister_required or a failed delta/heartbeat)."""


class SessionHost(Protocol):
    """What a session needs from its agent; the agent turns these calls into its callbacks."""

    @property
    def state(self) -> LocalState: ...
    def metadata(self) -> Metadata: ...
    def accepted(self, s: Session, info: br.SessionAccepted) -> None: ...
    def command(self, s: Session, cmd: br.Command) -> None: ...
    def delta(self, s: Session, delta: br.ReportDeltaRequest) -> None: ...
    def disconnected(self, s: Session, err: BaseException) -> None: ...
    def resync(self, s: Session, reason: str) -> None: ...
    def rejected(self, s: Session, error: str) -> None: ...
    def reported(self, s: Session, kind: ReportKind) -> None: ...
    def warning(self, err: BaseException) -> None: ...


class _Refused(Exception):
    """The registration was refused: end this stream and start over after a back-off."""


class Session:
    """See the module comment."""

    def __init__(
        self,
        address: str,
        host: SessionHost,
        *,
        credentials: grpc.ChannelCredentials | None,
        channel_options: Sequence[tuple[str, Any]],
        backoff: BackoffOptions,
    ) -> None:
        self.address = address
        self._host = host
        options = (
            # grpc's own reconnect back-off goes up to 120 s by default; keep it within ours, so a
            # NameServer that comes back is found within one of our back-off steps.
            ("grpc.initial_reconnect_backoff_ms", max(1, int(backoff.initial * 1000))),
            ("grpc.max_reconnect_backoff_ms", max(1, int(backoff.max * 1000))),
            *KEEPALIVE_OPTIONS,
            *channel_options,
        )
        if credentials is not None:
            self._channel = grpc.aio.secure_channel(address, credentials, options=options)
        else:
            self._channel = grpc.aio.insecure_channel(address, options=options)
        self._stub: BrokerRegistryAsyncStub = BrokerRegistryStub(self._channel)
        self._backoff = Backoff(backoff)
        self._stats = SessionStats(address=address)
        self._phase: SessionPhase = "connecting"
        self._seq = 0
        self._held: int | None = None
        self._registration_seq = 0
        self._inflight: dict[int, str] = {}
        self._outbox: asyncio.Queue[br.ConnectRequest] | None = None
        self._task: asyncio.Task[None] | None = None
        self._halted = asyncio.Event()

    @property
    def phase(self) -> SessionPhase:
        """Where the session stands."""
        return self._phase

    @property
    def ready(self) -> bool:
        """Registered and accepted: deltas, reports and results can be sent."""
        return self._phase == "ready"

    def snapshot(self) -> SessionStats:
        """A snapshot of the counters."""
        return replace(self._stats, phase=self._phase, held_counter=self._held)

    def open(self) -> None:
        """Start the session (a task that reconnects until :meth:`close`)."""
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"mq_nameserver session {self.address}")

    # --- sending ---------------------------------------------------------------------------------

    def send_registration(self) -> None:
        """Send the full registration at the current version (chunked). From here on the NameServer
        holds that version, whatever it held before."""
        if self._outbox is None or self._halted.is_set():
            return
        state = self._host.state
        chunks = state.registration()
        self._registration_seq = self._seq + 1
        for chunk in chunks:
            self._write("register", register=chunk)
        self._held = state.counter
        self._count(registrations=1, chunks_sent=len(chunks))
        self._stats = replace(self._stats, last_chunk_count=len(chunks))

    def send_delta(self, change: Change) -> None:
        """Send one change. A session not yet accepted skips it (it re-registers at acceptance when the
        version moved meanwhile); one whose NameServer does not hold the change's base version gets the
        full registration instead."""
        if not self.ready:
            return
        if self._held != change.base_counter:
            self.send_registration()
            return
        h = self._host.state.header
        delta = br.ReportDeltaRequest(
            cluster=h.cluster,
            broker_name=h.broker_name,
            broker_id=h.broker_id,
            base_counter=change.base_counter,
            data_version=DataVersion(epoch=self._host.state.epoch, counter=change.counter),
            upsert_topics=change.upsert_topics,
            delete_topics=change.delete_topics,
            upsert_groups=change.upsert_groups,
            delete_groups=change.delete_groups,
        )
        self._write("delta", delta=delta)
        self._held = change.counter
        self._count(deltas_sent=1)
        self._host.delta(self, delta)

    def send_heartbeat(self) -> None:
        """A keep-alive carrying the version this NameServer should hold; its Ack says if it does not."""
        if not self.ready or self._held is None:
            return
        h = self._host.state.header
        self._write(
            "heartbeat",
            heartbeat=br.HeartbeatRequest(
                cluster=h.cluster,
                broker_name=h.broker_name,
                broker_id=h.broker_id,
                data_version=DataVersion(epoch=self._host.state.epoch, counter=self._held),
            ),
        )
        self._count(heartbeats_sent=1)

    def send_positions(self, report: PositionsReport) -> None:
        """A full positions report."""
        if not self.ready:
            return
        h = self._host.state.header
        self._write(
            "positions",
            positions=br.ReportPositionsRequest(
                cluster=h.cluster,
                broker_name=h.broker_name,
                broker_id=h.broker_id,
                queue_positions=report.queue_positions,
                consumer_positions=report.consumer_positions,
                full=True,
            ),
        )
        self._count(positions_sent=1)

    def send_instances(self, instances: Sequence[ClientInstance]) -> None:
        """A full instances report."""
        if not self.ready:
            return
        h = self._host.state.header
        self._write(
            "instances",
            instances=br.ReportInstancesRequest(
                cluster=h.cluster, broker_name=h.broker_name, broker_id=h.broker_id, instances=instances, full=True
            ),
        )
        self._count(instances_sent=1)

    def send_command_result(self, result: br.CommandResult) -> bool:
        """The result of a command. False when the session is not accepted (the result is dropped)."""
        if not self.ready:
            return False
        self._write("command_result", command_result=result)
        self._count(command_results_sent=1)
        return True

    async def unregister(self, timeout: float) -> br.UnregisterBrokerResponse | BaseException:
        """Graceful leave: UnregisterBroker with this agent's epoch (never removes a newer registration)."""
        h = self._host.state.header
        try:
            return await self._stub.UnregisterBroker(
                br.UnregisterBrokerRequest(
                    cluster=h.cluster, broker_name=h.broker_name, broker_id=h.broker_id, epoch=self._host.state.epoch
                ),
                timeout=timeout,
                metadata=self._host.metadata(),
            )
        except Exception as err:  # noqa: BLE001 (reported, not raised: stop() goes on with the others)
            return err

    def halt(self) -> None:
        """Stop sending and reconnecting, but keep the stream open: between this and :meth:`close` the
        agent unregisters, and nothing sent meanwhile (a re-register after a late Ack, a reconnect) may
        add the broker back after the unregister removed it."""
        self._halted.set()
        self._phase = "closed"

    async def close(self) -> None:
        """End the session for good: no reconnect, stream cancelled, channel closed."""
        self.halt()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        self._inflight.clear()
        await self._channel.close()

    # --- the stream ------------------------------------------------------------------------------

    def _count(self, **increments: int) -> None:
        self._stats = replace(self._stats, **{k: getattr(self._stats, k) + v for k, v in increments.items()})

    def _write(self, kind: str, **body: Any) -> None:
        if self._halted.is_set() or self._outbox is None:
            return
        self._seq += 1
        self._inflight[self._seq] = kind
        self._outbox.put_nowait(br.ConnectRequest(seq=self._seq, **body))

    async def _run(self) -> None:
        while not self._halted.is_set():
            err = await self._one_stream()
            self._host.disconnected(self, err)
            if self._halted.is_set():
                return
            self._phase = "connecting"
            try:
                await asyncio.wait_for(self._halted.wait(), timeout=self._backoff.next())
            except TimeoutError:
                pass

    async def _one_stream(self) -> BaseException:
        """One Connect stream, from the registration until it fails; returns why."""
        call = self._stub.Connect(metadata=self._host.metadata())
        outbox: asyncio.Queue[br.ConnectRequest] = asyncio.Queue()
        self._outbox = outbox
        self._phase = "registering"
        self._count(connects=1)
        writer = asyncio.get_running_loop().create_task(_write_all(call, outbox))
        self.send_registration()
        try:
            while True:
                msg = await call.read()
                if msg is grpc.aio.EOF:
                    return StreamEnded("the NameServer ended the session")
                assert isinstance(msg, br.ConnectResponse)
                self._on_message(msg)
        except Exception as err:  # noqa: BLE001 (AioRpcError, a refused registration, ...: reconnect)
            return err
        finally:
            self._outbox = None
            self._inflight.clear()
            self._held = None
            writer.cancel()
            call.cancel()

    def _on_message(self, m: br.ConnectResponse) -> None:
        if self._halted.is_set():
            return
        kind = m.WhichOneof("body")
        if kind == "ack":
            self._on_ack(m.ack)
        elif kind == "accepted":
            self._phase = "ready"
            self._backoff.reset()
            # Changes made while the registration was in flight were not sent as deltas: catch up.
            if self._held != self._host.state.counter:
                self.send_registration()
            self._host.accepted(self, m.accepted)
        elif kind == "command":
            self._host.command(self, m.command)

    def _on_ack(self, ack: br.Ack) -> None:
        kind = self._inflight.pop(ack.seq, None)
        if ack.ok and not ack.reregister_required:
            if kind == "positions":
                self._host.reported(self, "positions")
            elif kind == "instances":
                self._host.reported(self, "instances")
            return
        # A full registration sent after this message supersedes whatever this Ack complains about.
        if ack.seq < self._registration_seq:
            return
        if kind == "register":
            # The content was refused; sending it again at once would be refused again. Start over later.
            self._host.rejected(self, ack.error)
            raise _Refused(f"registration refused: {ack.error}")
        if ack.reregister_required or kind == "delta" or kind == "heartbeat":
            self._count(resyncs=1)
            self._host.resync(self, ack.error or "the NameServer asked for a full registration")
            self.send_registration()
            return
        self._host.warning(RuntimeError(f"{self.address}: {kind or 'message'} {ack.seq} refused: {ack.error}"))
        # A refused report may mean the NameServer lost this broker; a heartbeat's Ack says so precisely.
        if kind == "positions" or kind == "instances":
            self.send_heartbeat()


async def _write_all(call: grpc.aio.StreamStreamCall[br.ConnectRequest, br.ConnectResponse], outbox: asyncio.Queue[br.ConnectRequest]) -> None:
    """The stream's only writer (grpc.aio allows one write at a time), in queue order."""
    try:
        while True:
            await call.write(await outbox.get())
    except (grpc.aio.AioRpcError, grpc.aio.UsageError, asyncio.InvalidStateError):
        return  # the stream is gone; the reader sees why
