/**
 * The web console end to end in headless Chromium (Debian's `chromium`, driven by playwright-core;
 * see browser.ts): a real NameServer with `--http-listen 127.0.0.1:0 --console`, simulated brokers
 * (the broker agent SDK over the simulated broker's store, in two clusters) and the page doing what an
 * operator does. Every write is checked against the server over gRPC. Waits are Playwright's
 * auto-waiting locators, never sleeps.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import type { Page } from 'playwright-core';
import { MessageType, Permission } from '../../generated/nameserver/v1/common';
import { FakeBroker } from '../fixtures/fake-broker';
import { call, exited, rejectsWith, startServer, type Started } from '../helpers/server';
import { launch, openConsole } from './browser';
import { startSimBrokers } from './sim-cluster';

const ROOT = path.resolve(__dirname, '..', '..');

/** A broker process on a Connect stream (test/fixtures/connect-broker.ts), to be SIGKILLed. */
async function brokerProcess(address: string, name: string, topics: string[]): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'test/fixtures/connect-broker.ts'), address, name, '0', topics.join(',')], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.once('exit', (code) => reject(new Error(`broker process exited early (${code}): ${out}`)));
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('registered')) resolve();
    });
  });
  return child;
}

const row = (page: Page, testid: string, attr: string, value: string) => page.locator(`[data-testid="${testid}"][${attr}="${value}"]`);
const code = (page: Page, scope: string, c: string) => page.getByTestId(scope).getByTestId('result-status').and(page.locator(`[data-code="${c}"]`));

describe('web console in headless Chromium', () => {
  let browser: Awaited<ReturnType<typeof launch>>;
  let s: Started;
  let sims: Awaited<ReturnType<typeof startSimBrokers>>;
  const children: ChildProcess[] = [];
  let port: number;

  before(async () => {
    s = await startServer({ httpListen: '127.0.0.1:0', console: true });
    port = s.server.httpPort!;
    sims = await startSimBrokers(
      s.address,
      [
        { cluster: 'c1', brokerName: 'b1', address: '127.0.0.1:10911', topics: ['shared', 'b1-own'], groups: { billing: ['shared'] } },
        { cluster: 'c1', brokerName: 'b2', address: '127.0.0.1:10912', topics: ['shared', 'b2-own'], groups: { billing: ['shared'] } },
        { cluster: 'c2', brokerName: 'b3', address: '127.0.0.1:10913', topics: ['c2-own'], groups: { 'c2-readers': ['c2-own'] } },
      ],
      300,
    );
    browser = await launch();
  });
  after(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await browser?.close();
    await sims?.stop();
    await s?.stop();
  });

  test('/ redirects to the console; each area is a page of its own, reached by tabs, links and the back button', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/`, { redirect: 'manual' });
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), 'console/');
    const { page, check } = await openConsole(browser.ctx, port, '', '', false);
    await page.goto(`http://127.0.0.1:${port}/`);
    assert.match(page.url(), /\/console\/(#\/cluster)?$/);
    await page.getByTestId('page-cluster').waitFor();
    for (const [tab, area] of [['tab-topics', 'page-topics'], ['tab-groups', 'page-groups'], ['tab-instances', 'page-instances'], ['tab-cluster', 'page-cluster']]) {
      await page.getByTestId(tab).click();
      await page.getByTestId(area).waitFor();
      assert.equal(await page.locator('main > section.page:not([hidden])').count(), 1, 'one page at a time');
      assert.equal(await page.getByTestId(tab).getAttribute('aria-current'), 'page');
    }
    assert.match(page.url(), /#\/cluster$/);
    await page.goBack();
    await page.getByTestId('page-instances').waitFor();
    // A topic's own view is a link; so is a group's; an unknown area falls back to the cluster.
    await page.goto(`http://127.0.0.1:${port}/console/#/topics`);
    await row(page, 'topic-row', 'data-topic', 'shared').getByTestId('topic-link').click();
    await page.getByTestId('topic-detail').waitFor();
    assert.match(page.url(), /#\/topics\/shared$/);
    assert.equal(await page.getByTestId('detail-name').first().innerText(), 'shared');
    await page.getByTestId('back-topics').click();
    await page.getByTestId('topics-table').waitFor();
    await page.goto(`http://127.0.0.1:${port}/console/#/groups/billing`);
    await page.getByTestId('group-detail').getByTestId('lag-table').waitFor();
    await page.goto(`http://127.0.0.1:${port}/console/#/nowhere`);
    await page.getByTestId('page-cluster').waitFor();
    await check();
  });

  test('the first paint agrees with itself: no "No live brokers" while a count says otherwise, counts equal their tables', async () => {
    const page = await browser.ctx.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    // Record what the page shows at every DOM change from the very first one.
    await page.addInitScript({
      content: `
        window.__paints = [];
        new MutationObserver(() => {
          const q = (s) => document.querySelector(s);
          window.__paints.push({
            count: q('#count-brokers')?.textContent ?? '',
            card: q('[data-testid="overview-brokers"]')?.textContent ?? '',
            none: !!q('[data-testid="brokers-table-none"]'),
            loading: !!q('[data-testid="brokers-table-loading"]'),
            rows: document.querySelectorAll('[data-testid="broker-row"]').length,
          });
        }).observe(document, { subtree: true, childList: true, characterData: true });`,
    });
    // Hold the broker stream back, so the page is seen with the overview answered and no brokers yet.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    await page.route('**/api/stream/Admin/WatchCluster**', async (route) => {
      await held;
      await route.continue();
    });
    await page.goto(`http://127.0.0.1:${port}/console/#/cluster`);
    await page.getByTestId('server').and(page.locator(':text-matches(".+")')).waitFor(); // GetClusterInfo answered
    await page.getByTestId('brokers-table-loading').waitFor();
    assert.equal(await page.getByTestId('count-brokers').innerText(), '…');
    assert.equal(await page.getByTestId('overview-brokers').innerText(), '…');
    assert.equal(await page.getByTestId('brokers-table-none').count(), 0);
    release();
    await page.getByTestId('count-brokers').and(page.getByText('3', { exact: true })).waitFor();
    assert.equal(await page.getByTestId('broker-row').count(), 3);
    assert.equal(await page.getByTestId('overview-brokers').innerText(), '3');
    const paints = (await page.evaluate(() => (globalThis as unknown as { __paints: unknown }).__paints)) as {
      count: string;
      card: string;
      none: boolean;
      loading: boolean;
      rows: number;
    }[];
    assert.ok(paints.length > 3, 'paints were recorded');
    for (const p of paints) {
      const shown = p.count === '…' ? null : Number(p.count);
      assert.ok(!(p.none && shown !== 0), `"No live brokers" while the count says ${p.count}`);
      if (shown !== null && shown > 0) assert.ok(!p.loading, `the count says ${p.count} while the table is still loading`);
      if (shown !== null && !p.loading && p.rows > 0) assert.equal(p.rows, shown, 'the count equals the table');
      if (p.card && p.card !== '…' && p.count !== '…') assert.equal(p.card, p.count, 'the overview card equals the tab count');
    }
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('the cluster is chosen from a list: every page, count and write follows it', async () => {
    const { page, check } = await openConsole(browser.ctx, port, '#/cluster', '?refresh=500');
    const select = page.getByTestId('cluster-select');
    assert.deepEqual(await select.locator('option').allInnerTexts(), ['All clusters (2)', 'c1', 'c2']);
    await row(page, 'broker-row', 'data-broker', 'c1/b1/0').waitFor();
    await select.selectOption('c2');
    await row(page, 'broker-row', 'data-broker', 'c1/b1/0').waitFor({ state: 'detached' });
    assert.deepEqual(await page.getByTestId('broker-row').evaluateAll((rs) => rs.map((r) => r.getAttribute('data-broker'))), ['c2/b3/0']);
    assert.equal(await page.getByTestId('count-brokers').innerText(), '1');
    assert.match(page.url(), /#\/cluster\?cluster=c2$/);

    await page.getByTestId('tab-topics').click();
    await row(page, 'topic-row', 'data-topic', 'c2-own').waitFor();
    assert.deepEqual(await page.getByTestId('topic-row').evaluateAll((rs) => rs.map((r) => r.getAttribute('data-topic'))), ['c2-own']);
    assert.equal(await page.getByTestId('count-topics').innerText(), '1');
    await page.getByTestId('tab-groups').click();
    await row(page, 'group-row', 'data-group', 'c2-readers').waitFor();
    assert.equal(await page.getByTestId('group-row').count(), 1, 'groups are listed for the chosen cluster');
    assert.equal(await page.getByTestId('count-groups').innerText(), '1');

    // A create targets the chosen cluster by default.
    await page.getByTestId('tab-topics').click();
    await page.getByTestId('topic-create-open').click();
    assert.equal(await page.getByTestId('topic-cluster').inputValue(), 'c2');
    await page.getByTestId('topic-name').fill('made-on-c2');
    await page.getByTestId('topic-submit').click();
    await code(page, 'topic-result', 'OK').waitFor();
    await page.getByTestId('topic-cancel').click();
    const { route } = await call(s.routes, 'getRoute', { topic: 'made-on-c2' });
    assert.deepEqual(route!.brokers.map((b) => `${b.cluster}/${b.brokerName}`), ['c2/b3']);

    // The choice survives a reload (URL), and "All clusters" shows everything again.
    await page.reload();
    await row(page, 'topic-row', 'data-topic', 'made-on-c2').waitFor();
    assert.equal(await select.inputValue(), 'c2');
    await select.selectOption('');
    await row(page, 'topic-row', 'data-topic', 'shared').waitFor();
    assert.equal(await page.getByTestId('count-topics').innerText(), String((await page.getByTestId('topic-row').count())));
    await check();
  });

  test('brokers: Drain only on writable, Restore only on drained; drain asks first; outcomes shown next to the action', async () => {
    const { page, check } = await openConsole(browser.ctx, port, '#/cluster?cluster=c1');
    const b1 = row(page, 'broker-row', 'data-broker', 'c1/b1/0');
    await b1.and(page.locator('[data-permission="PERMISSION_READ_WRITE"]')).waitFor();
    assert.equal(await b1.getByTestId('drain').count(), 1);
    assert.equal(await b1.getByTestId('restore').count(), 0, 'no Restore on a writable replica set');

    // Cancel: nothing happens.
    await b1.getByTestId('drain').click();
    const dialog = page.getByTestId('confirm-dialog');
    await dialog.waitFor();
    assert.equal(await page.getByTestId('confirm-title').innerText(), 'Drain replica set b1?');
    assert.match(await dialog.innerText(), /Producers stop sending to it/);
    await page.getByTestId('confirm-cancel').click();
    await dialog.waitFor({ state: 'hidden' });
    const shared = async () => (await call(s.routes, 'getRoute', { topic: 'shared' })).route!.brokers.find((b) => b.brokerName === 'b1')!.permission;
    assert.equal(await shared(), Permission.PERMISSION_READ_WRITE);
    assert.equal(sims.brokers[0]!.store.permission, Permission.PERMISSION_READ_WRITE, 'the broker was not asked');

    // Confirm: the outcome in the dialog, then under the row; the row offers Restore only.
    await b1.getByTestId('drain').click();
    await page.getByTestId('confirm-ok').click();
    await code(page, 'confirm-result', 'OK').waitFor();
    assert.equal(await page.getByTestId('confirm-result').getByTestId('result-row').count(), 1);
    assert.equal(await page.getByTestId('confirm-ok').isHidden(), true, 'done: only Close is left');
    await page.getByTestId('confirm-cancel').click();
    assert.equal(await shared(), Permission.PERMISSION_READ);
    await b1.and(page.locator('[data-permission="PERMISSION_READ"]')).getByTestId('restore').waitFor(); // pushed by WatchCluster
    assert.equal(await b1.getByTestId('drain').count(), 0, 'no Drain on a drained replica set');
    await page.locator('[data-testid="row-result"][data-for="c1/b1/0"]').getByTestId('result-status').and(page.locator('[data-code="OK"]')).waitFor();
    await page.getByTestId('toast').and(page.locator('[data-kind="ok"]')).first().waitFor();

    // The topic's route shows it too (WatchRoutes), without a reload.
    await page.goto(`http://127.0.0.1:${port}/console/#/topics/shared`);
    await row(page, 'route-row', 'data-broker', 'b1').getByTestId('route-permission').and(page.locator('[data-permission="PERMISSION_READ"]')).waitFor();
    await page.goBack();

    // Restore needs no confirmation; its outcome appears under its row.
    await b1.getByTestId('restore').click();
    await page.locator('[data-testid="row-result"][data-for="c1/b1/0"]').getByTestId('result-status').and(page.locator('[data-code="OK"]')).waitFor();
    await b1.and(page.locator('[data-permission="PERMISSION_READ_WRITE"]')).getByTestId('drain').waitFor();
    assert.equal(await shared(), Permission.PERMISSION_READ_WRITE);
    await check();
  });

  test('topics: create in a dialog, edit and delete per row (with a confirmation), every outcome shown in place', async () => {
    const { page, check } = await openConsole(browser.ctx, port, '#/topics?cluster=c1');
    await page.getByTestId('topic-create-open').click();
    await page.getByTestId('topic-name').fill('made-in-console');
    await page.getByTestId('topic-read').fill('4');
    await page.getByTestId('topic-write').fill('6');
    await page.getByTestId('topic-submit').click();
    await code(page, 'topic-result', 'OK').waitFor();
    assert.equal(await page.getByTestId('topic-result').getByTestId('result-row').count(), 2);
    await page.getByTestId('topic-cancel').click();
    const r = row(page, 'topic-row', 'data-topic', 'made-in-console');
    await r.waitFor();
    assert.match(await r.innerText(), /b1, b2\s+8\s+12/);
    assert.deepEqual(
      (await call(s.routes, 'getRoute', { topic: 'made-in-console' })).route!.brokers.map((b) => [b.brokerName, b.readQueueNums, b.writeQueueNums]),
      [['b1', 4, 6], ['b2', 4, 6]],
    );

    // The same create again with other queue counts: refused, with every broker's outcome, in the dialog.
    await page.getByTestId('topic-create-open').click();
    await page.getByTestId('topic-name').fill('made-in-console');
    await page.getByTestId('topic-submit').click();
    await code(page, 'topic-result', 'ALREADY_EXISTS').waitFor();
    assert.match(await page.getByTestId('topic-result').getByTestId('result-status').innerText(), /ALREADY_EXISTS \(HTTP 409\)/);
    assert.equal(await page.locator('[data-testid="result-row"][data-outcome="COMMAND_OUTCOME_ALREADY_EXISTS"]').count(), 2);
    await page.getByTestId('topic-cancel').click();

    // Edit from the row: prefilled with the current configuration; attributes the form keeps are kept.
    await call(s.admin, 'updateTopic', {
      topic: { name: 'made-in-console', readQueueNums: 4, writeQueueNums: 6, permission: Permission.PERMISSION_READ_WRITE, messageType: MessageType.MESSAGE_TYPE_NORMAL, attributes: { '+retention.hours': '72' } },
      cluster: '',
      brokerNames: [],
    });
    await r.getByTestId('topic-edit').click();
    await page.getByTestId('topic-submit').and(page.locator(':enabled')).waitFor();
    assert.equal(await page.getByTestId('topic-read').inputValue(), '4');
    assert.equal(await page.getByTestId('topic-write').inputValue(), '6');
    assert.equal(await page.getByTestId('topic-name').getAttribute('readonly'), '');
    assert.equal(await page.getByTestId('topic-attrs').inputValue(), '+retention.hours=72');
    await page.getByTestId('topic-read').fill('16');
    await page.getByTestId('topic-type').selectOption('MESSAGE_TYPE_FIFO');
    await page.getByTestId('topic-submit').click();
    await code(page, 'topic-result', 'OK').waitFor();
    await page.getByTestId('topic-cancel').click();
    const { brokers } = await call(s.admin, 'getTopic', { topic: 'made-in-console' });
    assert.deepEqual(
      brokers.map((b) => [b.brokerName, b.config!.readQueueNums, b.config!.writeQueueNums, b.config!.messageType, b.config!.attributes['+retention.hours']]),
      [['b1', 16, 6, MessageType.MESSAGE_TYPE_FIFO, '72'], ['b2', 16, 6, MessageType.MESSAGE_TYPE_FIFO, '72']],
    );
    await r.getByText('fifo', { exact: true }).waitFor();

    // Delete from the row: cancelled first (nothing happens), then confirmed.
    await r.getByTestId('topic-delete').click();
    assert.equal(await page.getByTestId('confirm-title').innerText(), 'Delete topic made-in-console?');
    assert.match(await page.getByTestId('confirm-dialog').innerText(), /b1 \(c1\), b2 \(c1\)/);
    await page.getByTestId('confirm-cancel').click();
    assert.equal((await call(s.routes, 'getRoute', { topic: 'made-in-console' })).route!.brokers.length, 2);
    await r.getByTestId('topic-delete').click();
    await page.getByTestId('confirm-ok').click();
    await code(page, 'confirm-result', 'OK').waitFor();
    assert.equal(await page.getByTestId('confirm-result').getByTestId('result-row').count(), 2);
    await page.getByTestId('confirm-cancel').click();
    await r.waitFor({ state: 'detached' });
    await rejectsWith(call(s.routes, 'getRoute', { topic: 'made-in-console' }), grpc.status.NOT_FOUND);
    await check();
  });

  test('groups: create, edit and delete per row; lag chart, per-topic and per-queue lag', async () => {
    const { page, check } = await openConsole(browser.ctx, port, '#/groups?cluster=c1', '?refresh=500');
    await page.getByTestId('group-create-open').click();
    await page.getByTestId('group-name').fill('auditors');
    await page.getByTestId('group-subs').fill('shared\nb1-own: TagA || TagB');
    await page.getByTestId('group-attempts').fill('7');
    await page.getByTestId('group-submit').click();
    await code(page, 'group-result', 'OK').waitFor();
    await page.getByTestId('group-cancel').click();
    const created = await call(s.admin, 'getGroup', { group: 'auditors' });
    assert.deepEqual(created.brokers.map((b) => b.brokerName), ['b1', 'b2']);
    const cfg = created.brokers[0]!.config!;
    assert.deepEqual(cfg.subscriptions.map((x) => [x.topic, x.expression]), [['shared', ''], ['b1-own', 'TagA || TagB']]);
    assert.equal(cfg.retryPolicy!.maxAttempts, 7);

    // Edit from the row, keeping what the form does not show (the retry back-off).
    await call(s.admin, 'updateGroup', { group: { ...cfg, retryPolicy: { maxAttempts: 7, initialBackoffMs: 2500, maxBackoffMs: 90000 } }, cluster: '', brokerNames: [] });
    const r = row(page, 'group-row', 'data-group', 'auditors');
    await r.getByTestId('group-edit').click();
    await page.getByTestId('group-submit').and(page.locator(':enabled')).waitFor();
    assert.equal(await page.getByTestId('group-subs').inputValue(), 'shared\nb1-own: TagA || TagB');
    await page.getByTestId('group-attempts').fill('3');
    await page.getByTestId('group-orderly').check();
    await page.getByTestId('group-submit').click();
    await code(page, 'group-result', 'OK').waitFor();
    await page.getByTestId('group-cancel').click();
    const edited = (await call(s.admin, 'getGroup', { group: 'auditors' })).brokers[0]!.config!;
    assert.equal(edited.retryPolicy!.maxAttempts, 3);
    assert.equal(edited.retryPolicy!.initialBackoffMs, 2500);
    assert.equal(edited.consumeOrderly, true);

    // Delete asks first.
    await r.getByTestId('group-delete').click();
    assert.equal(await page.getByTestId('confirm-title').innerText(), 'Delete consumer group auditors?');
    await page.getByTestId('confirm-cancel').click();
    await call(s.admin, 'getGroup', { group: 'auditors' });
    await r.getByTestId('group-delete').click();
    await page.getByTestId('confirm-ok').click();
    await code(page, 'confirm-result', 'OK').waitFor();
    await page.getByTestId('confirm-cancel').click();
    await r.waitFor({ state: 'detached' });
    await rejectsWith(call(s.admin, 'getGroup', { group: 'auditors' }), grpc.status.NOT_FOUND);

    // Lag: the simulated brokers report positions; the chart draws the group; its view has per-queue lag.
    const billing = row(page, 'group-row', 'data-group', 'billing');
    const lag = Number((await billing.getByTestId('group-lag').innerText()).replace(/,/g, ''));
    assert.ok(lag > 0, `billing lags (${lag})`);
    await page.locator('svg[data-testid="lag-chart"] path[data-testid="lag-line"][data-group="billing"]').waitFor({ state: 'attached' });
    await page.getByTestId('lag-legend').getByText(/^billing: [\d,]+$/).waitFor();
    await billing.getByTestId('group-link').click();
    const topicRow = page.locator('[data-testid="lag-topic-row"][data-topic="shared"]');
    await topicRow.waitFor();
    await topicRow.getByTestId('lag-queues-toggle').click();
    assert.equal(await page.getByTestId('queue-lag-table').locator('tbody tr').count(), 16, '8 queues on each of b1 and b2');
    const { totalLag } = await call(s.admin, 'getConsumerLag', { group: 'billing', topic: '' });
    assert.ok(totalLag > 0);
    await check();
  });

  test('instances: the reported producers and consumers, searchable and filtered by role', async () => {
    const { page, check } = await openConsole(browser.ctx, port, '#/instances?cluster=c1', '?refresh=500');
    await page.getByTestId('instance-row').first().waitFor();
    const { instances } = await call(s.admin, 'listInstances', { group: '', topic: '', role: 0, pageSize: 1000, pageToken: '' });
    const c1 = instances.filter((i) => i.brokerNames.some((n) => n === 'b1' || n === 'b2'));
    assert.equal(await page.getByTestId('count-instances').innerText(), String(c1.length));
    assert.equal(await page.getByTestId('instance-row').count(), c1.length);
    await page.getByTestId('instance-role-filter').selectOption('CLIENT_ROLE_CONSUMER');
    const consumers = c1.filter((i) => i.instance!.role === 2);
    await page.getByTestId('instances-table-status').and(page.getByText(`${consumers.length} of ${c1.length} instances match`)).waitFor();
    assert.ok((await page.getByTestId('instance-row').allInnerTexts()).every((t) => /consumer/.test(t)));
    await page.getByTestId('instance-filter').fill('no-such-client');
    await page.getByTestId('instances-table-nomatch').waitFor();
    await check();
  });

  test('a killed broker process disappears from the page’s tables (live, from WatchCluster and WatchRoutes)', async () => {
    const { page, check } = await openConsole(browser.ctx, port, '#/cluster');
    const child = await brokerProcess(s.address, 'bk', ['killed-topic']);
    children.push(child);
    const r = row(page, 'broker-row', 'data-broker', 'c1/bk/0');
    await r.waitFor();
    await page.getByTestId('count-topics').and(page.getByText(/^\d+$/)).waitFor();
    const topicsBefore = Number(await page.getByTestId('count-topics').innerText());
    child.kill('SIGKILL');
    await exited(child);
    await r.waitFor({ state: 'detached' });
    await page.getByTestId('count-topics').and(page.getByText(String(topicsBefore - 1), { exact: true })).waitFor();
    const rows = await page.getByTestId('broker-row').count();
    assert.equal(await page.getByTestId('count-brokers').innerText(), String(rows));
    await check();
  });
});

describe('web console with an admin token configured', () => {
  let browser: Awaited<ReturnType<typeof launch>>;
  let s: Started;
  let b: FakeBroker;

  before(async () => {
    s = await startServer({ httpListen: '127.0.0.1:0', console: true, adminToken: 'console-admin', brokerToken: 'console-broker' });
    browser = await launch();
    const md = new grpc.Metadata();
    md.set('authorization', 'Bearer console-broker');
    b = new FakeBroker(s.address, 'ta1', ['ta1-own'], md);
    await b.connect();
  });
  after(async () => {
    b?.close();
    await browser?.close();
    await s?.stop();
  });

  test('without the token reads and writes show UNAUTHENTICATED, with another role’s PERMISSION_DENIED, with the admin token they work', async () => {
    const { page, check } = await openConsole(browser.ctx, s.server.httpPort!, '#/topics', '', false);
    // Reads need the token too: the page says so, in the errors and in the table itself.
    await page.locator('[data-testid="error"][data-source="Admin/WatchCluster"][data-code="UNAUTHENTICATED"]').waitFor();
    await page.getByTestId('tab-cluster').click();
    await page.getByTestId('brokers-table-error').waitFor();
    assert.match(await page.getByTestId('brokers-table-error').innerText(), /Could not load brokers: UNAUTHENTICATED/);
    await page.getByTestId('tab-topics').click();

    const submit = async () => {
      await page.getByTestId('topic-create-open').click();
      await page.getByTestId('topic-name').fill('token-topic');
      await page.getByTestId('topic-brokers').fill('ta1');
      await page.getByTestId('topic-submit').click();
    };
    await submit();
    await code(page, 'topic-result', 'UNAUTHENTICATED').waitFor();
    assert.match(await page.getByTestId('topic-result').innerText(), /UNAUTHENTICATED \(HTTP 401\)/);
    await page.getByTestId('topic-cancel').click();

    const useToken = async (token: string) => {
      await page.getByTestId('token-open').click();
      await page.getByTestId('token-input').fill(token);
      await page.getByTestId('token-save').click();
      await page.getByTestId('token-dialog').waitFor({ state: 'hidden' });
    };
    await useToken('console-broker');
    await submit();
    await code(page, 'topic-result', 'PERMISSION_DENIED').waitFor();
    assert.match(await page.getByTestId('topic-result').innerText(), /the broker token may not call nameserver\.v1\.Admin/);
    await page.getByTestId('topic-cancel').click();
    await rejectsWith(call(s.routes, 'getRoute', { topic: 'token-topic' }), grpc.status.NOT_FOUND);

    await useToken('console-admin');
    assert.equal(await page.evaluate('sessionStorage.getItem("nameserver-console-token")'), 'console-admin');
    assert.equal(await page.getByTestId('token-open').innerText(), 'Admin token: set');
    await submit();
    await code(page, 'topic-result', 'OK').waitFor();
    await page.getByTestId('topic-cancel').click();
    assert.equal((await call(s.routes, 'getRoute', { topic: 'token-topic' })).route!.brokers[0]!.brokerName, 'ta1');
    // With the token the live views work: the topic is listed, the read errors are gone.
    await row(page, 'topic-row', 'data-topic', 'token-topic').waitFor();
    await page.getByTestId('errors').waitFor({ state: 'hidden' });
    await page.getByTestId('tab-cluster').click();
    await row(page, 'broker-row', 'data-broker', 'c1/ta1/0').waitFor();
    await check();
  });
});
