"""The broker's own view of what it reports: identity, topics, groups, permission, and the data version
(a random epoch per agent start, a counter that grows with every change). No network, so it is
unit-tested directly. It produces the two report shapes the sessions send: the full registration
(split into chunks) and the delta of one change."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from mq_nameserver.config_equality import normalise_permission, same_group_config, same_topic_config
from mq_nameserver.v1 import common_pb2 as c
from mq_nameserver.v1.broker_registry_pb2 import RegisterBrokerRequest
from mq_nameserver.v1.common_pb2 import DataVersion, GroupConfig, TopicConfig

DEFAULT_QUEUE_NUMS = 8
"""Read and write queues of a topic given by name only (RocketMQ's BrokerConfig.defaultTopicQueueNums)."""
DEFAULT_CHUNK_SIZE = 5_000
"""Topics (and groups) per registration chunk."""

TopicInput = str | TopicConfig
"""A topic as the agent accepts it: a name (8 read and 8 write queues, read-write), or a TopicConfig
whose queue counts left at 0 become 8."""
GroupInput = str | GroupConfig
"""A group as the agent accepts it: a name, or a GroupConfig."""

_NAME = re.compile(r"^[%|a-zA-Z0-9_-]+$")


def _check_name(kind: str, name: str, limit: int) -> None:
    # What the NameServer would refuse is refused here, with a clear error to the caller: a bad name
    # in a delta would otherwise fail on every NameServer and, through the re-register that follows,
    # take the whole registration down with it.
    if not isinstance(name, str) or not _NAME.match(name) or len(name) > limit:
        raise ValueError(f"invalid {kind} name {name!r}: must match {_NAME.pattern} and have at most {limit} characters")


def to_topic_config(t: TopicInput, max_queue_nums: int = 1024) -> TopicConfig:
    """A full TopicConfig from a name or a partial config (queue counts left at 0: 8)."""
    if isinstance(t, str):
        cfg = TopicConfig(
            name=t,
            read_queue_nums=DEFAULT_QUEUE_NUMS,
            write_queue_nums=DEFAULT_QUEUE_NUMS,
            permission=c.PERMISSION_READ_WRITE,
            message_type=c.MESSAGE_TYPE_NORMAL,
        )
    else:
        cfg = TopicConfig()
        cfg.CopyFrom(t)
        cfg.read_queue_nums = cfg.read_queue_nums or DEFAULT_QUEUE_NUMS
        cfg.write_queue_nums = cfg.write_queue_nums or DEFAULT_QUEUE_NUMS
    _check_name("topic", cfg.name, 127)
    for name, n in (("read_queue_nums", cfg.read_queue_nums), ("write_queue_nums", cfg.write_queue_nums)):
        if n < 1 or n > max_queue_nums:
            raise ValueError(f"topic {cfg.name}: {name} must be an integer in 1..{max_queue_nums}, got {n}")
    return cfg


def to_group_config(g: GroupInput) -> GroupConfig:
    """A full GroupConfig from a name or a config."""
    cfg = GroupConfig(name=g) if isinstance(g, str) else _copy(g)
    _check_name("group", cfg.name, 120)
    for s in cfg.subscriptions:
        _check_name("topic", s.topic, 127)
    return cfg


def _copy(g: GroupConfig) -> GroupConfig:
    out = GroupConfig()
    out.CopyFrom(g)
    return out


@dataclass(frozen=True)
class BrokerHeader:
    """The broker identity and descriptive fields repeated in every registration chunk."""

    cluster: str
    broker_name: str
    broker_id: int
    addresses: tuple[str, ...]
    zone: str = ""
    software_version: str = ""


@dataclass(frozen=True)
class Change:
    """One change of topics or groups: what a ReportDelta carries."""

    base_counter: int
    """The counter before the change."""
    counter: int
    """The counter after it."""
    upsert_topics: list[TopicConfig] = field(default_factory=list)
    delete_topics: list[str] = field(default_factory=list)
    upsert_groups: list[GroupConfig] = field(default_factory=list)
    delete_groups: list[str] = field(default_factory=list)


def _dedupe_topics(cfgs: Iterable[TopicConfig]) -> list[TopicConfig]:
    return list({cfg.name: cfg for cfg in cfgs}.values())


def _dedupe_groups(cfgs: Iterable[GroupConfig]) -> list[GroupConfig]:
    return list({cfg.name: cfg for cfg in cfgs}.values())


class LocalState:
    """See the module comment."""

    def __init__(
        self,
        header: BrokerHeader,
        topics: Sequence[TopicConfig] = (),
        groups: Sequence[GroupConfig] = (),
        permission: c.Permission.ValueType = c.PERMISSION_READ_WRITE,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        epoch: str | None = None,
    ) -> None:
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be a positive integer, got {chunk_size}")
        self.header = header
        self.epoch = epoch or str(uuid.uuid4())
        """Boot id of this agent start."""
        self._counter = 1
        self._topics: dict[str, TopicConfig] = {t.name: t for t in topics}
        self._groups: dict[str, GroupConfig] = {g.name: g for g in groups}
        self._permission = normalise_permission(permission)
        self._chunk_size = chunk_size
        self._built: tuple[int, list[RegisterBrokerRequest]] | None = None

    @property
    def counter(self) -> int:
        """The current data version counter."""
        return self._counter

    @property
    def permission(self) -> c.Permission.ValueType:
        """The broker-wide permission."""
        return self._permission

    def topic(self, name: str) -> TopicConfig | None:
        """A topic's config."""
        return self._topics.get(name)

    def group(self, name: str) -> GroupConfig | None:
        """A group's config."""
        return self._groups.get(name)

    def topics(self) -> list[TopicConfig]:
        """Every topic."""
        return list(self._topics.values())

    def groups(self) -> list[GroupConfig]:
        """Every group."""
        return list(self._groups.values())

    def upsert_topics(self, cfgs: Iterable[TopicConfig]) -> Change | None:
        """Add or change topics; those already held with the same meaning are skipped."""
        changed = [t for t in _dedupe_topics(cfgs) if (held := self._topics.get(t.name)) is None or not same_topic_config(held, t)]
        if not changed:
            return None
        for t in changed:
            self._topics[t.name] = t
        return self._bump(upsert_topics=changed)

    def delete_topics(self, names: Iterable[str]) -> Change | None:
        """Remove topics; names not held are skipped."""
        gone = [n for n in dict.fromkeys(names) if self._topics.pop(n, None) is not None]
        return self._bump(delete_topics=gone) if gone else None

    def upsert_groups(self, cfgs: Iterable[GroupConfig]) -> Change | None:
        """Add or change groups; those already held with the same meaning are skipped."""
        changed = [g for g in _dedupe_groups(cfgs) if (held := self._groups.get(g.name)) is None or not same_group_config(held, g)]
        if not changed:
            return None
        for g in changed:
            self._groups[g.name] = g
        return self._bump(upsert_groups=changed)

    def delete_groups(self, names: Iterable[str]) -> Change | None:
        """Remove groups; names not held are skipped."""
        gone = [n for n in dict.fromkeys(names) if self._groups.pop(n, None) is not None]
        return self._bump(delete_groups=gone) if gone else None

    def set_permission(self, p: c.Permission.ValueType) -> bool:
        """Change the broker-wide permission; whether it changed. The permission travels only in
        RegisterBrokerRequest, so a change means a full re-register; the counter still moves so that a
        NameServer holding the old version does not skip it as "already held"."""
        nxt = normalise_permission(p)
        if nxt == self._permission:
            return False
        self._permission = nxt
        self._counter += 1
        return True

    def registration(self) -> list[RegisterBrokerRequest]:
        """The full registration at the current version, as chunks of at most ``chunk_size`` topics and
        ``chunk_size`` groups each, sharing one data version, chunk_index 0..n-1. Built once per version."""
        if self._built is not None and self._built[0] == self._counter:
            return self._built[1]
        topics, groups, size = self.topics(), self.groups(), self._chunk_size
        n = max(1, -(-len(topics) // size), -(-len(groups) // size))
        h = self.header
        chunks = [
            RegisterBrokerRequest(
                cluster=h.cluster,
                broker_name=h.broker_name,
                broker_id=h.broker_id,
                addresses=h.addresses,
                zone=h.zone,
                software_version=h.software_version,
                data_version=DataVersion(epoch=self.epoch, counter=self._counter),
                topics=topics[i * size : (i + 1) * size],
                groups=groups[i * size : (i + 1) * size],
                permission=self._permission,
                chunk_index=i,
                chunk_count=n,
            )
            for i in range(n)
        ]
        self._built = (self._counter, chunks)
        return chunks

    def _bump(
        self,
        upsert_topics: list[TopicConfig] | None = None,
        delete_topics: list[str] | None = None,
        upsert_groups: list[GroupConfig] | None = None,
        delete_groups: list[str] | None = None,
    ) -> Change:
        base = self._counter
        self._counter += 1
        return Change(base, self._counter, upsert_topics or [], delete_topics or [], upsert_groups or [], delete_groups or [])
