/**
 * The simulated broker's configuration (topics, groups, broker-wide permission), kept in
 * `DIR/broker.json` and applied durably: every change is written to a temporary file in the same
 * directory, fsynced, renamed over the old file, and the directory fsynced, before the command is
 * answered. A crash at any point leaves either the old or the new file, never half of one; stale
 * temporary files from such a crash are removed at the next open.
 *
 * It implements the agent's CommandHandler with the semantics admins rely on: creating what exists
 * with the same meaning is OK (idempotent), with another configuration ALREADY_EXISTS naming what
 * differs; updating or deleting what is missing is NOT_FOUND. A change that cannot be persisted is
 * undone in memory and answered FAILED, so the broker never reports what it would lose on restart.
 *
 * The file holds proto3 JSON (enum names, camelCase fields), readable and editable by hand:
 * `{"version":1,"permission":"PERMISSION_READ_WRITE","topics":[{"name":"orders","readQueueNums":8,...}],"groups":[]}`.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import {
  CommandOutcome,
  GroupConfig,
  Permission,
  permissionFromJSON,
  permissionToJSON,
  TopicConfig,
} from '../../generated/nameserver/v1/common';
import { groupDifferences, normalisePermission, topicDifferences } from '../broker-agent/config-equality';
import { toTopicConfig } from '../broker-agent/local-state';
import type { CommandHandler, CommandReply, GroupName, TopicName } from '../broker-agent/types';

/** Name of the configuration file in the data directory. */
export const CONFIG_FILE = 'broker.json';
const TEMP_PREFIX = `${CONFIG_FILE}.tmp-`;
const FILE_VERSION = 1;

const OK: CommandReply = { outcome: CommandOutcome.COMMAND_OUTCOME_OK };

/** See the module comment. */
export class ConfigStore implements CommandHandler {
  private readonly topicMap = new Map<TopicName, TopicConfig>();
  private readonly groupMap = new Map<GroupName, GroupConfig>();
  private permissionValue: Permission = Permission.PERMISSION_READ_WRITE;
  /** Changes run one at a time: each one's file write must finish before the next one starts. */
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(readonly dir: string) {}

  /** Path of the configuration file. */
  get file(): string {
    return path.join(this.dir, CONFIG_FILE);
  }

  /**
   * Load `DIR/broker.json`, creating the directory, and the file from `seedTopics` when there is none
   * (first start). A file that exists but cannot be read as a configuration is an error: starting
   * empty would silently drop every topic of the broker.
   */
  static async open(dir: string, opts: { seedTopics?: readonly string[] } = {}): Promise<ConfigStore> {
    const store = new ConfigStore(dir);
    await mkdir(dir, { recursive: true });
    for (const f of await readdir(dir)) {
      if (f.startsWith(TEMP_PREFIX)) await unlink(path.join(dir, f)).catch(() => undefined);
    }
    let text: string | undefined;
    try {
      text = await readFile(store.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (text === undefined) {
      for (const name of opts.seedTopics ?? []) store.topicMap.set(name, toTopicConfig(name));
      await store.save();
    } else {
      store.load(text);
    }
    return store;
  }

  /** Every topic. */
  topics(): TopicConfig[] {
    return [...this.topicMap.values()];
  }

  /** Every group. */
  groups(): GroupConfig[] {
    return [...this.groupMap.values()];
  }

  /** The broker-wide permission. */
  get permission(): Permission {
    return this.permissionValue;
  }

  /** Create a topic (idempotent; ALREADY_EXISTS with the differences when another config is held). */
  createTopic(topic: TopicConfig): Promise<CommandReply> {
    return this.serial(async () => {
      const held = this.topicMap.get(topic.name);
      if (held) return this.sameOrConflict('topic', topic.name, topicDifferences(held, topic));
      return this.commit(
        () => this.topicMap.set(topic.name, topic),
        () => this.topicMap.delete(topic.name),
      );
    });
  }

  /** Replace an existing topic's configuration (NOT_FOUND when missing). */
  updateTopic(topic: TopicConfig): Promise<CommandReply> {
    return this.serial(async () => {
      const held = this.topicMap.get(topic.name);
      if (!held) return notFound('topic', topic.name);
      if (topicDifferences(held, topic).length === 0) return OK;
      return this.commit(
        () => this.topicMap.set(topic.name, topic),
        () => this.topicMap.set(topic.name, held),
      );
    });
  }

  /** Delete a topic (NOT_FOUND when missing). */
  deleteTopic(name: TopicName): Promise<CommandReply> {
    return this.serial(async () => {
      const held = this.topicMap.get(name);
      if (!held) return notFound('topic', name);
      return this.commit(
        () => this.topicMap.delete(name),
        () => this.topicMap.set(name, held),
      );
    });
  }

  /** Create a group (idempotent; ALREADY_EXISTS with the differences when another config is held). */
  createGroup(group: GroupConfig): Promise<CommandReply> {
    return this.serial(async () => {
      const held = this.groupMap.get(group.name);
      if (held) return this.sameOrConflict('group', group.name, groupDifferences(held, group));
      return this.commit(
        () => this.groupMap.set(group.name, group),
        () => this.groupMap.delete(group.name),
      );
    });
  }

  /** Replace an existing group's configuration (NOT_FOUND when missing). */
  updateGroup(group: GroupConfig): Promise<CommandReply> {
    return this.serial(async () => {
      const held = this.groupMap.get(group.name);
      if (!held) return notFound('group', group.name);
      if (groupDifferences(held, group).length === 0) return OK;
      return this.commit(
        () => this.groupMap.set(group.name, group),
        () => this.groupMap.set(group.name, held),
      );
    });
  }

  /** Delete a group (NOT_FOUND when missing). */
  deleteGroup(name: GroupName): Promise<CommandReply> {
    return this.serial(async () => {
      const held = this.groupMap.get(name);
      if (!held) return notFound('group', name);
      return this.commit(
        () => this.groupMap.delete(name),
        () => this.groupMap.set(name, held),
      );
    });
  }

  /** Set the broker-wide permission (drain: PERMISSION_READ; restore: PERMISSION_READ_WRITE). */
  setPermission(permission: Permission): Promise<CommandReply> {
    return this.serial(async () => {
      if (permission === Permission.PERMISSION_UNSPECIFIED || permission < 0 || !(permission in Permission)) {
        return { outcome: CommandOutcome.COMMAND_OUTCOME_INVALID, message: `permission ${permission} is not a broker permission` };
      }
      const held = this.permissionValue;
      if (normalisePermission(permission) === held) return OK;
      return this.commit(
        () => (this.permissionValue = normalisePermission(permission)),
        () => (this.permissionValue = held),
      );
    });
  }

  private serial(f: () => Promise<CommandReply>): Promise<CommandReply> {
    const run = this.queue.then(f, f);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private sameOrConflict(kind: 'topic' | 'group', name: string, differences: string[]): CommandReply {
    if (differences.length === 0) return OK;
    return {
      outcome: CommandOutcome.COMMAND_OUTCOME_ALREADY_EXISTS,
      message: `${kind} ${name} exists with another configuration (held → asked): ${differences.join('; ')}`,
    };
  }

  /** Apply a change in memory, persist it, and undo it if it could not be persisted. */
  private async commit(apply: () => unknown, undo: () => unknown): Promise<CommandReply> {
    apply();
    try {
      await this.save();
      return OK;
    } catch (err) {
      undo();
      return { outcome: CommandOutcome.COMMAND_OUTCOME_FAILED, message: `cannot persist the configuration: ${(err as Error).message}` };
    }
  }

  /** Write the whole configuration: temp file, fsync, rename over, fsync the directory. */
  private async save(): Promise<void> {
    const text = `${JSON.stringify(
      {
        version: FILE_VERSION,
        permission: permissionToJSON(this.permissionValue),
        topics: this.topics().map((t) => TopicConfig.toJSON(t)),
        groups: this.groups().map((g) => GroupConfig.toJSON(g)),
      },
      null,
      2,
    )}\n`;
    const tmp = path.join(this.dir, `${TEMP_PREFIX}${process.pid}-${randomBytes(4).toString('hex')}`);
    try {
      const fh = await open(tmp, 'wx', 0o644);
      try {
        await fh.writeFile(text, 'utf8');
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, this.file);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw err;
    }
    await syncDirectory(this.dir);
  }

  private load(text: string): void {
    let doc: { version?: unknown; permission?: unknown; topics?: unknown; groups?: unknown };
    try {
      doc = JSON.parse(text) as typeof doc;
    } catch (err) {
      throw new Error(`${this.file}: not JSON: ${(err as Error).message}`);
    }
    if (doc.version !== FILE_VERSION || !Array.isArray(doc.topics) || !Array.isArray(doc.groups)) {
      throw new Error(`${this.file}: not a broker configuration of version ${FILE_VERSION} (expected {"version":1,"topics":[...],"groups":[...]})`);
    }
    this.permissionValue = normalisePermission(permissionFromJSON(doc.permission ?? 'PERMISSION_READ_WRITE'));
    for (const t of doc.topics) {
      const cfg = TopicConfig.fromJSON(t);
      if (!cfg.name) throw new Error(`${this.file}: a topic has no name`);
      this.topicMap.set(cfg.name, cfg);
    }
    for (const g of doc.groups) {
      const cfg = GroupConfig.fromJSON(g);
      if (!cfg.name) throw new Error(`${this.file}: a group has no name`);
      this.groupMap.set(cfg.name, cfg);
    }
  }
}

function notFound(kind: 'topic' | 'group', name: string): CommandReply {
  return { outcome: CommandOutcome.COMMAND_OUTCOME_NOT_FOUND, message: `${kind} ${name} does not exist on this broker` };
}

/**
 * Make the rename durable across power loss (POSIX: the directory entry lives in the directory).
 * Best effort: once the rename is done a restart reads the new file, so the in-memory state must not
 * be rolled back for a failure here; platforms that cannot fsync a directory (Windows) skip it.
 */
async function syncDirectory(dir: string): Promise<void> {
  const fh = await open(dir, 'r').catch(() => undefined);
  if (!fh) return;
  await fh.sync().catch(() => undefined);
  await fh.close().catch(() => undefined);
}
