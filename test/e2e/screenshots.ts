/**
 * `npm run docs:screenshots`: the console's pages as PNGs in docs/console/, so a reader of
 * src/console/README.md sees them without running anything. Starts a NameServer with the console,
 * two clusters of simulated brokers (topics, groups, positions and client instances), drains one
 * replica set, then opens each page in Debian's Chromium at 1400x1000.
 *
 *   npm run docs:screenshots              # writes docs/console/*.png
 *   npm run docs:screenshots -- OUT_DIR   # somewhere else
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { MessageType, Permission } from '../../generated/nameserver/v1/common';
import { call, startServer } from '../helpers/server';
import { tool } from '../helpers/tools';
import { CHROMIUM_ARGS } from './browser';
import { startSimBrokers, type SimBrokerSpec } from './sim-cluster';

const ROOT = path.resolve(__dirname, '..', '..');
const OUT = path.resolve(process.argv[2] ?? path.join(ROOT, 'docs', 'console'));

const EAST_TOPICS = ['orders', 'payments', 'inventory', 'shipments', 'refunds', 'invoices', 'user-events', 'clickstream', 'search-index', 'price-changes', 'audit-log', 'notifications'];
const WEST_TOPICS = ['orders', 'payments', 'web-sessions', 'recommendations', 'email-outbox', 'sms-outbox'];
const EAST_GROUPS = { billing: ['orders', 'payments', 'refunds'], shipping: ['orders', 'shipments'], analytics: ['clickstream', 'user-events'], 'search-indexer': ['search-index', 'price-changes'], notifier: ['notifications'] };
const WEST_GROUPS = { billing: ['orders', 'payments'], recommender: ['web-sessions', 'recommendations'], mailer: ['email-outbox', 'sms-outbox'] };

function specs(): SimBrokerSpec[] {
  const out: SimBrokerSpec[] = [];
  const add = (cluster: string, name: string, zone: string, ip: string, topics: string[], groups: Record<string, string[]>, replicas: number) => {
    for (let id = 0; id < replicas; id++) {
      out.push({ cluster, brokerName: name, brokerId: id, zone, address: `${ip}${id + 1}:10911`, topics, groups });
    }
  };
  add('prod-east', 'broker-a', 'east-1a', '10.1.0.1', EAST_TOPICS.slice(0, 9), EAST_GROUPS, 2);
  add('prod-east', 'broker-b', 'east-1b', '10.1.0.2', EAST_TOPICS.slice(3), EAST_GROUPS, 2);
  add('prod-east', 'broker-c', 'east-1c', '10.1.0.3', EAST_TOPICS, EAST_GROUPS, 2);
  add('prod-west', 'broker-w1', 'west-2a', '10.2.0.1', WEST_TOPICS, WEST_GROUPS, 1);
  add('prod-west', 'broker-w2', 'west-2b', '10.2.0.2', WEST_TOPICS.slice(0, 4), WEST_GROUPS, 1);
  return out;
}

async function shoot(page: Page, name: string): Promise<void> {
  // Let the last batched render land and fonts settle.
  await page.evaluate(() => {
    const raf = (globalThis as unknown as { requestAnimationFrame(f: () => void): void }).requestAnimationFrame;
    return new Promise<void>((r) => raf(() => raf(r)));
  });
  const file = path.join(OUT, `${name}.png`);
  await page.screenshot({ path: file });
  console.log(`wrote ${path.relative(ROOT, file)}`);
}

async function main(): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  const s = await startServer({ httpListen: '127.0.0.1:0', console: true });
  const sims = await startSimBrokers(s.address, specs(), 1000);
  // A FIFO topic and a delay topic, created as an operator would, and one replica set drained.
  const fifo = { readQueueNums: 4, writeQueueNums: 4, permission: Permission.PERMISSION_READ_WRITE, attributes: {} };
  await call(s.admin, 'createTopic', { topic: { name: 'order-status', messageType: MessageType.MESSAGE_TYPE_FIFO, ...fifo }, cluster: 'prod-east', brokerNames: [] });
  await call(s.admin, 'createTopic', { topic: { name: 'payment-retries', messageType: MessageType.MESSAGE_TYPE_DELAY, ...fifo }, cluster: 'prod-east', brokerNames: [] });
  await call(s.admin, 'setBrokerPermission', { cluster: 'prod-west', brokerName: 'broker-w2', permission: Permission.PERMISSION_READ });

  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH || tool('chromium'), headless: true, args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 }, deviceScaleFactor: 1 });
    const base = `http://127.0.0.1:${s.server.httpPort}/console/?refresh=1000`;
    await page.goto(`${base}#/cluster`);
    await page.getByTestId('live-status').and(page.locator('[data-state="live"]')).waitFor();
    await page.getByTestId('count-instances').and(page.locator('[data-ready="true"]')).waitFor();
    await page.locator('[data-testid="broker-row"][data-broker="prod-west/broker-w2/0"]').waitFor();
    await page.locator('[data-testid="broker-row"][data-broker="prod-west/broker-w2/0"][data-permission="PERMISSION_READ"]').waitFor();
    await shoot(page, 'cluster');

    await page.goto(`${base}#/topics`);
    await page.locator('[data-testid="topic-row"][data-topic="payment-retries"]').waitFor();
    await shoot(page, 'topics');

    await page.goto(`${base}#/topics/orders`);
    await page.getByTestId('topic-brokers-table').waitFor();
    await page.getByTestId('topic-groups').waitFor();
    await shoot(page, 'topic-route');

    await page.goto(`${base}#/groups`);
    await page.locator('[data-testid="group-row"][data-group="billing"]').waitFor();
    // A few lag samples, one a second, so the chart has lines.
    await page.locator('svg[data-testid="lag-chart"] path[data-testid="lag-line"]').nth(5).waitFor({ state: 'attached' });
    // (The page's CSP forbids string evaluation: a function, with `globalThis` as this file has no DOM types.)
    await page.waitForFunction(
      () => {
        type Doc = { querySelector(s: string): { getAttribute(a: string): string | null } | null };
        const d = (globalThis as unknown as { document: Doc }).document;
        return (d.querySelector('path[data-testid="lag-line"]')?.getAttribute('d')?.split('L').length ?? 0) >= 12;
      },
      undefined,
      { timeout: 60_000 },
    );
    await shoot(page, 'groups');

    await page.goto(`${base}#/groups/billing`);
    await page.getByTestId('lag-table').waitFor();
    await page.getByTestId('group-instances-table').waitFor();
    await shoot(page, 'group-lag');

    await page.goto(`${base}#/instances`);
    await page.getByTestId('instance-row').first().waitFor();
    await shoot(page, 'instances');

    // The confirmation before a drain, and the outcome of an edit shown in its dialog.
    await page.goto(`${base}#/cluster`);
    await page.locator('[data-testid="broker-row"][data-broker="prod-east/broker-a/0"]').getByTestId('drain').click();
    await page.getByTestId('confirm-dialog').waitFor();
    await shoot(page, 'confirm-drain');
    await page.getByTestId('confirm-cancel').click();

    await page.goto(`${base}#/topics`);
    await page.locator('[data-testid="topic-row"][data-topic="invoices"]').getByTestId('topic-edit').click();
    await page.getByTestId('topic-submit').and(page.locator(':enabled')).waitFor();
    await page.getByTestId('topic-read').fill('16');
    await page.getByTestId('topic-write').fill('16');
    await page.getByTestId('topic-submit').click();
    await page.getByTestId('topic-result').getByTestId('result-status').waitFor();
    await shoot(page, 'topic-edit');
  } finally {
    await browser.close();
    await sims.stop();
    await s.stop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
