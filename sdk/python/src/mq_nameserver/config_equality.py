"""Semantic comparison of topic and group configurations. Two configs are the same when they mean the
same thing: an unspecified enum equals its documented default (UNSPECIFIED permission is READ_WRITE,
UNSPECIFIED message type is NORMAL, ...), attribute order does not matter, and an empty filter
expression is "*". The agent uses it to skip no-op changes (no counter bump, no delta); a broker uses
it to decide whether a create is idempotent or a conflict, and to say what differs."""

from __future__ import annotations

import json
from collections.abc import Mapping

from mq_nameserver.v1 import common_pb2 as c
from mq_nameserver.v1.common_pb2 import GroupConfig, Subscription, TopicConfig


def normalise_permission(p: c.Permission.ValueType) -> c.Permission.ValueType:
    """The permission a topic or broker means when it says UNSPECIFIED."""
    return c.PERMISSION_READ_WRITE if p == c.PERMISSION_UNSPECIFIED else p


def _message_type(t: c.MessageType.ValueType) -> c.MessageType.ValueType:
    return c.MESSAGE_TYPE_NORMAL if t == c.MESSAGE_TYPE_UNSPECIFIED else t


def _consume_mode(m: c.ConsumeMode.ValueType) -> c.ConsumeMode.ValueType:
    return c.CONSUME_MODE_CLUSTERING if m == c.CONSUME_MODE_UNSPECIFIED else m


def _attributes(a: Mapping[str, str]) -> str:
    return json.dumps(sorted(a.items()))


def _subscription(s: Subscription) -> str:
    ft = c.FILTER_TYPE_TAG if s.filter_type == c.FILTER_TYPE_UNSPECIFIED else s.filter_type
    return json.dumps([s.topic, s.expression or "*", ft])


class _Diff:
    def __init__(self) -> None:
        self.out: list[str] = []

    def __call__(self, field: str, a: object, b: object) -> None:
        if a != b:
            self.out.append(f"{field} {a} → {b}")


def topic_differences(held: TopicConfig, wanted: TopicConfig) -> list[str]:
    """The fields in which two configs of the same topic differ, each as "field a → b" (proto field
    names, so an operator can match them to what they typed). Empty when they mean the same."""
    d = _Diff()
    d("read_queue_nums", held.read_queue_nums, wanted.read_queue_nums)
    d("write_queue_nums", held.write_queue_nums, wanted.write_queue_nums)
    d("permission", c.Permission.Name(normalise_permission(held.permission)), c.Permission.Name(normalise_permission(wanted.permission)))
    d("message_type", c.MessageType.Name(_message_type(held.message_type)), c.MessageType.Name(_message_type(wanted.message_type)))
    d("attributes", _attributes(held.attributes), _attributes(wanted.attributes))
    return d.out


def group_differences(held: GroupConfig, wanted: GroupConfig) -> list[str]:
    """Like :func:`topic_differences`, for consumer groups. Subscription order does not matter."""
    d = _Diff()
    d("consume_mode", c.ConsumeMode.Name(_consume_mode(held.consume_mode)), c.ConsumeMode.Name(_consume_mode(wanted.consume_mode)))

    def subs(g: GroupConfig) -> str:
        return "[" + ",".join(sorted(_subscription(s) for s in g.subscriptions)) + "]"

    def retry(g: GroupConfig) -> str:
        r = g.retry_policy
        return json.dumps([r.max_attempts, r.initial_backoff_ms, r.max_backoff_ms])

    d("subscriptions", subs(held), subs(wanted))
    d("retry_policy", retry(held), retry(wanted))
    d("consume_orderly", held.consume_orderly, wanted.consume_orderly)
    d("attributes", _attributes(held.attributes), _attributes(wanted.attributes))
    return d.out


def same_topic_config(a: TopicConfig, b: TopicConfig) -> bool:
    """Whether two topic configs mean the same (see the module comment)."""
    return a.name == b.name and not topic_differences(a, b)


def same_group_config(a: GroupConfig, b: GroupConfig) -> bool:
    """Whether two group configs mean the same (see the module comment)."""
    return a.name == b.name and not group_differences(a, b)
