"""The pure parts, without a network: the agent's local state (versions, chunks, no-op changes),
semantic config equality, back-off, and address lists."""

from __future__ import annotations

import pytest

from mq_nameserver import (
    Backoff,
    BackoffOptions,
    GroupConfig,
    Subscription,
    TopicConfig,
    group_differences,
    join_host_port,
    resolve_addresses,
    same_topic_config,
    split_host_port,
    to_topic_config,
    topic_differences,
)
from mq_nameserver._local_state import BrokerHeader, LocalState
from mq_nameserver.v1 import common_pb2 as c

HEADER = BrokerHeader("c1", "b1", 0, ("127.0.0.1:10911",))


def test_registration_chunks_share_one_version_and_split_topics_and_groups() -> None:
    state = LocalState(
        HEADER,
        topics=[to_topic_config(f"t{i}") for i in range(7)],
        groups=[GroupConfig(name=f"g{i}") for i in range(2)],
        chunk_size=3,
        epoch="e1",
    )
    chunks = state.registration()
    assert [(ch.chunk_index, ch.chunk_count, len(ch.topics), len(ch.groups)) for ch in chunks] == [(0, 3, 3, 2), (1, 3, 3, 0), (2, 3, 1, 0)]
    assert {(ch.data_version.epoch, ch.data_version.counter) for ch in chunks} == {("e1", 1)}
    assert [t.name for ch in chunks for t in ch.topics] == [f"t{i}" for i in range(7)]
    assert state.registration() is chunks, "built once per version"
    empty = LocalState(HEADER, chunk_size=3).registration()
    assert [(ch.chunk_index, ch.chunk_count, len(ch.topics)) for ch in empty] == [(0, 1, 0)]


def test_changes_bump_the_counter_once_and_no_ops_do_not() -> None:
    state = LocalState(HEADER, topics=[to_topic_config("a")])
    assert state.upsert_topics([to_topic_config("a")]) is None
    # Unspecified permission and message type mean READ_WRITE and NORMAL: the same config.
    assert state.upsert_topics([TopicConfig(name="a", read_queue_nums=8, write_queue_nums=8)]) is None
    change = state.upsert_topics([to_topic_config("b"), TopicConfig(name="a", read_queue_nums=8, write_queue_nums=2)])
    assert change is not None and (change.base_counter, change.counter) == (1, 2)
    assert [t.name for t in change.upsert_topics] == ["b", "a"]
    assert state.delete_topics(["zz"]) is None
    gone = state.delete_topics(["a", "a"])
    assert gone is not None and (gone.base_counter, gone.counter, gone.delete_topics) == (2, 3, ["a"])
    assert state.set_permission(c.PERMISSION_UNSPECIFIED) is False, "unspecified is read-write, the current one"
    assert state.set_permission(c.PERMISSION_READ) is True and state.counter == 4
    assert [ch.permission for ch in state.registration()] == [c.PERMISSION_READ]


def test_topic_inputs_get_defaults_and_bad_ones_are_refused() -> None:
    t = to_topic_config("orders")
    assert (t.read_queue_nums, t.write_queue_nums, t.permission, t.message_type) == (8, 8, c.PERMISSION_READ_WRITE, c.MESSAGE_TYPE_NORMAL)
    assert to_topic_config(TopicConfig(name="x", read_queue_nums=2)).write_queue_nums == 8
    with pytest.raises(ValueError, match="invalid topic name"):
        to_topic_config("a" * 128)
    with pytest.raises(ValueError, match=r"1\.\.1024, got 1025"):
        to_topic_config(TopicConfig(name="x", read_queue_nums=1025))


def test_config_equality_names_what_differs() -> None:
    a = TopicConfig(name="t", read_queue_nums=4, write_queue_nums=4, attributes={"x": "1", "y": "2"})
    b = TopicConfig(name="t", read_queue_nums=4, write_queue_nums=4, permission=c.PERMISSION_READ_WRITE, attributes={"y": "2", "x": "1"})
    assert same_topic_config(a, b)
    b.write_queue_nums = 2
    b.permission = c.PERMISSION_READ
    assert topic_differences(a, b) == ["write_queue_nums 4 → 2", "permission PERMISSION_READ_WRITE → PERMISSION_READ"]
    g1 = GroupConfig(name="g", subscriptions=[Subscription(topic="t1"), Subscription(topic="t2", expression="*")])
    g2 = GroupConfig(name="g", subscriptions=[Subscription(topic="t2", filter_type=c.FILTER_TYPE_TAG), Subscription(topic="t1", expression="*")])
    assert group_differences(g1, g2) == []
    g2.consume_orderly = True
    assert group_differences(g1, g2) == ["consume_orderly False → True"]


def test_backoff_doubles_to_the_cap_with_jitter_and_resets() -> None:
    b = Backoff(BackoffOptions(initial=0.1, max=0.5, jitter=0.5), rand=lambda: 1.0)
    assert [round(b.next(), 3) for _ in range(5)] == [0.05, 0.1, 0.2, 0.25, 0.25]
    b.reset()
    assert round(b.next(), 3) == 0.05
    no_jitter = Backoff(BackoffOptions(initial=0.1, max=5, jitter=0), rand=lambda: 1.0)
    assert [no_jitter.next() for _ in range(3)] == [0.1, 0.2, 0.4]


async def test_address_lists_expand_names_keep_order_and_skip_bad_entries() -> None:
    assert split_host_port("[::1]:9876") == ("::1", "9876")
    assert join_host_port("::1", 9876) == "[::1]:9876"
    with pytest.raises(ValueError):
        split_host_port("no-port")
    errors: list[str] = []
    got = await resolve_addresses("127.0.0.2:1, bad-entry ,localhost:7,127.0.0.2:1", lambda entry, _err: errors.append(entry))
    assert got[0] == "127.0.0.2:1"
    assert "127.0.0.1:7" in got and got.count("127.0.0.2:1") == 1
    assert errors == ["bad-entry"]
