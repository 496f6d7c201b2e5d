/**
 * Semantic comparison of topic and group configurations. Two configs are the same when they mean the
 * same thing: an unspecified enum equals its documented default (UNSPECIFIED permission is
 * READ_WRITE, UNSPECIFIED message type is NORMAL, ...), attribute order does not matter, and an
 * empty filter expression is "*". The agent uses it to skip no-op changes (no counter bump, no delta);
 * a broker uses it to decide whether a create is idempotent or a conflict, and to say what differs.
 */
import {
  ConsumeMode,
  MessageType,
  Permission,
  type GroupConfig,
  type Subscription,
  type TopicConfig,
} from '../../generated/nameserver/v1/common';
import { consumeModeOrDefault, filterTypeOrDefault, messageTypeOrDefault, permissionOrDefault } from '../shared/contract';

/** The permission a topic or broker means when it says UNSPECIFIED (READ_WRITE). */
export const normalisePermission = permissionOrDefault;
const normaliseMessageType = messageTypeOrDefault;
const normaliseConsumeMode = consumeModeOrDefault;

function attributesText(a: Readonly<Record<string, string>> | undefined): string {
  return JSON.stringify(Object.entries(a ?? {}).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)));
}

function subscriptionText(s: Subscription): string {
  const filter = filterTypeOrDefault(s.filterType);
  return JSON.stringify([s.topic, s.expression === '' ? '*' : s.expression, filter]);
}

/**
 * The fields in which two configs of the same topic differ, each as "field a → b" (proto field
 * names, so an operator can match them to what they typed). Empty when they mean the same.
 */
export function topicDifferences(held: TopicConfig, wanted: TopicConfig): string[] {
  const out: string[] = [];
  const diff = (field: string, a: unknown, b: unknown) => {
    if (a !== b) out.push(`${field} ${String(a)} → ${String(b)}`);
  };
  diff('read_queue_nums', held.readQueueNums, wanted.readQueueNums);
  diff('write_queue_nums', held.writeQueueNums, wanted.writeQueueNums);
  diff('permission', Permission[normalisePermission(held.permission)], Permission[normalisePermission(wanted.permission)]);
  diff('message_type', MessageType[normaliseMessageType(held.messageType)], MessageType[normaliseMessageType(wanted.messageType)]);
  diff('attributes', attributesText(held.attributes), attributesText(wanted.attributes));
  return out;
}

/** Like {@link topicDifferences}, for consumer groups. Subscription order does not matter. */
export function groupDifferences(held: GroupConfig, wanted: GroupConfig): string[] {
  const out: string[] = [];
  const diff = (field: string, a: unknown, b: unknown) => {
    if (a !== b) out.push(`${field} ${String(a)} → ${String(b)}`);
  };
  diff('consume_mode', ConsumeMode[normaliseConsumeMode(held.consumeMode)], ConsumeMode[normaliseConsumeMode(wanted.consumeMode)]);
  const subs = (g: GroupConfig) => `[${g.subscriptions.map(subscriptionText).sort().join(',')}]`;
  diff('subscriptions', subs(held), subs(wanted));
  const retry = (g: GroupConfig) => JSON.stringify([g.retryPolicy?.maxAttempts ?? 0, g.retryPolicy?.initialBackoffMs ?? 0, g.retryPolicy?.maxBackoffMs ?? 0]);
  diff('retry_policy', retry(held), retry(wanted));
  diff('consume_orderly', held.consumeOrderly, wanted.consumeOrderly);
  diff('attributes', attributesText(held.attributes), attributesText(wanted.attributes));
  return out;
}

/** Whether two topic configs mean the same (see the module comment). */
export function sameTopicConfig(a: TopicConfig, b: TopicConfig): boolean {
  return a.name === b.name && topicDifferences(a, b).length === 0;
}

/** Whether two group configs mean the same (see the module comment). */
export function sameGroupConfig(a: GroupConfig, b: GroupConfig): boolean {
  return a.name === b.name && groupDifferences(a, b).length === 0;
}
