"""Python SDK of the mq-nameserver NameServer, on grpc.aio (asyncio).

- :class:`NameServerClient`: what producers and consumers embed: ``get_route`` with a route cache,
  ``watch`` (WatchRoutes with the versions held), failover across replicas with jittered back-off,
  DNS expansion of the NameServer list.
- :class:`BrokerAgent`: what a broker embeds: a ``Connect`` session to every NameServer replica,
  chunked registration, deltas, heartbeats, positions and instances, admin commands handed to a
  :class:`CommandHandler` with their results sent back, reconnect with back-off, DNS re-resolution.

The generated messages and stubs of the contract (``proto/nameserver/v1``) are in
:mod:`mq_nameserver.v1`; the ones an application needs most are re-exported here.
"""

from mq_nameserver._backoff import DEFAULT_BACKOFF, Backoff, BackoffOptions
from mq_nameserver._local_state import (
    DEFAULT_CHUNK_SIZE,
    DEFAULT_QUEUE_NUMS,
    GroupInput,
    TopicInput,
    to_group_config,
    to_topic_config,
)
from mq_nameserver._resolve import join_host_port, resolve_addresses, split_host_port
from mq_nameserver._session import PositionsReport, SessionPhase, SessionStats
from mq_nameserver.broker_agent import BrokerAgent, CommandHandler, CommandReply, SessionInfo
from mq_nameserver.client import ClientStats, NameServerClient, RouteChange, RouteListener, StreamEnded, Watch
from mq_nameserver.config_equality import (
    group_differences,
    normalise_permission,
    same_group_config,
    same_topic_config,
    topic_differences,
)
from mq_nameserver.v1.broker_registry_pb2 import Command
from mq_nameserver.v1.common_pb2 import (
    ClientInstance,
    ClientRole,
    CommandOutcome,
    ConsumeMode,
    ConsumerPosition,
    FilterType,
    GroupConfig,
    MessageType,
    Permission,
    QueuePosition,
    RetryPolicy,
    Subscription,
    TopicConfig,
)
from mq_nameserver.v1.route_query_pb2 import BrokerRoute, Replica, Route

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_BACKOFF",
    "DEFAULT_CHUNK_SIZE",
    "DEFAULT_QUEUE_NUMS",
    "Backoff",
    "BackoffOptions",
    "BrokerAgent",
    "BrokerRoute",
    "ClientInstance",
    "ClientRole",
    "ClientStats",
    "Command",
    "CommandHandler",
    "CommandOutcome",
    "CommandReply",
    "ConsumeMode",
    "ConsumerPosition",
    "FilterType",
    "GroupConfig",
    "GroupInput",
    "MessageType",
    "NameServerClient",
    "Permission",
    "PositionsReport",
    "QueuePosition",
    "Replica",
    "RetryPolicy",
    "Route",
    "RouteChange",
    "RouteListener",
    "SessionInfo",
    "SessionPhase",
    "SessionStats",
    "StreamEnded",
    "Subscription",
    "TopicConfig",
    "TopicInput",
    "Watch",
    "group_differences",
    "join_host_port",
    "normalise_permission",
    "resolve_addresses",
    "same_group_config",
    "same_topic_config",
    "split_host_port",
    "to_group_config",
    "to_topic_config",
    "topic_differences",
]
