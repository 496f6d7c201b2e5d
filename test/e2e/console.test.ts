/**
 * The web console end to end in headless Chromium (Debian's `chromium`, driven by playwright-core):
 * a real NameServer with `--http-listen 127.0.0.1:0 --console`, brokers on Connect sessions, and the
 * page doing what an operator does. Waits are Playwright's auto-waiting locators, never sleeps.
 *
 * Chromium is Debian's, installed by scripts/install-test-tools.sh (`npm test` runs it first); without
 * it every test here fails with that command (never a silent skip).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { Permission } from '../../generated/nameserver/v1/common';
import { FakeBroker } from '../fixtures/fake-broker';
import { report } from '../fixtures/reports';
import { call, exited, startServer, type Started } from '../helpers/server';
import { tool } from '../helpers/tools';

const CHROMIUM = process.env.CHROMIUM_PATH || tool('chromium');
const ROOT = path.resolve(__dirname, '..', '..');
// The machine has no network: keep Chromium from trying (background networking floods refused connections).
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** A browser with a fresh profile; pages are tabs (each with its own sessionStorage). */
async function launch(): Promise<{ ctx: BrowserContext; close(): Promise<void> }> {
  const profile = mkdtempSync(path.join(tmpdir(), 'console-e2e-'));
  const ctx = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport: { width: 1280, height: 900 } });
  ctx.setDefaultTimeout(15_000);
  return {
    ctx,
    close: async () => {
      await ctx.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Open the console in a new tab; page errors fail the test at `check()`. */
async function openConsole(ctx: BrowserContext, s: Started, query = ''): Promise<{ page: Page; check(): Promise<void> }> {
  const page = await ctx.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`http://127.0.0.1:${s.server.httpPort}/console/${query}`);
  await page.getByTestId('live-status').and(page.locator('[data-state="live"]')).waitFor();
  return {
    page,
    check: async () => {
      assert.deepEqual(errors, [], 'errors thrown in the page');
      await page.close();
    },
  };
}

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

describe('web console in headless Chromium', () => {
  let browser: Awaited<ReturnType<typeof launch>>;
  let s: Started;
  const fakes: FakeBroker[] = [];
  const children: ChildProcess[] = [];

  before(async () => {
    s = await startServer({ httpListen: '127.0.0.1:0', console: true });
    browser = await launch();
    for (const name of ['b1', 'b2']) {
      const b = new FakeBroker(s.address, name, [`${name}-own`]);
      await b.connect();
      fakes.push(b);
    }
  });
  after(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const b of fakes) b.close();
    await browser?.close();
    await s?.stop();
  });

  test('a topic created in the console form is in GetRoute and in the page’s topic table', async () => {
    const { page, check } = await openConsole(browser.ctx, s);
    await page.getByTestId('broker-row').and(page.locator('[data-broker="c1/b2/0"]')).waitFor();
    await page.getByLabel('Name', { exact: true }).first().fill('made-in-console');
    await page.getByTestId('topic-read').fill('4');
    await page.getByTestId('topic-write').fill('6');
    await page.getByTestId('topic-cluster').fill('c1');
    await page.getByTestId('topic-create').click();
    const status = page.getByTestId('topic-result').getByTestId('result-status');
    await status.and(page.locator('[data-code="OK"]')).waitFor();
    assert.equal(await page.getByTestId('topic-result').getByTestId('result-row').count(), 2);

    const { route } = await call(s.routes, 'getRoute', { topic: 'made-in-console' });
    assert.deepEqual(
      route!.brokers.map((b) => [b.brokerName, b.readQueueNums, b.writeQueueNums]),
      [['b1', 4, 6], ['b2', 4, 6]],
    );
    const row = page.locator('[data-testid="topic-row"][data-topic="made-in-console"]');
    await row.waitFor();
    assert.match(await row.innerText(), /b1, b2\s+8\s+12/);

    // Choosing it shows its route.
    await row.getByTestId('topic-link').click();
    await page.getByTestId('route-detail').getByTestId('route-row').nth(1).waitFor();
    assert.equal(await page.getByTestId('route-version').innerText(), route!.version);

    // The same form, a conflicting create: the error and every broker's outcome are shown.
    await page.getByTestId('topic-read').fill('2');
    await page.getByTestId('topic-create').click();
    await status.and(page.locator('[data-code="ALREADY_EXISTS"]')).waitFor();
    assert.match(await status.innerText(), /ALREADY_EXISTS \(HTTP 409\)/);
    assert.equal(await page.locator('[data-testid="result-row"][data-outcome="COMMAND_OUTCOME_ALREADY_EXISTS"]').count(), 2);
    await check();
  });

  test('drain from the page changes the route’s permission; restore brings it back', async () => {
    const bd = new FakeBroker(s.address, 'bd', ['drained-topic']);
    await bd.connect();
    fakes.push(bd);
    const { page, check } = await openConsole(browser.ctx, s);
    await page.locator('[data-testid="topic-row"][data-topic="drained-topic"]').getByTestId('topic-link').click();
    const permission = page.getByTestId('route-detail').getByTestId('route-permission');
    await permission.and(page.locator('[data-permission="PERMISSION_READ_WRITE"]')).waitFor();

    const brokerRow = page.locator('[data-testid="broker-row"][data-broker="c1/bd/0"]');
    await brokerRow.getByTestId('drain').click();
    await page.getByTestId('permission-result').getByTestId('result-status').and(page.locator('[data-code="OK"]')).waitFor();
    const drained = await call(s.routes, 'getRoute', { topic: 'drained-topic' });
    assert.equal(drained.route!.brokers[0]!.permission, Permission.PERMISSION_READ);
    // Pushed to the page by WatchRoutes (route) and WatchCluster (broker row), no reload.
    await permission.and(page.locator('[data-permission="PERMISSION_READ"]')).waitFor();
    await brokerRow.locator('[data-permission="PERMISSION_READ"]').waitFor();

    await brokerRow.getByTestId('restore').click();
    await permission.and(page.locator('[data-permission="PERMISSION_READ_WRITE"]')).waitFor();
    assert.equal((await call(s.routes, 'getRoute', { topic: 'drained-topic' })).route!.brokers[0]!.permission, Permission.PERMISSION_READ_WRITE);
    await check();
  });

  test('a killed broker process disappears from the page’s broker table (live, from WatchCluster)', async () => {
    const { page, check } = await openConsole(browser.ctx, s);
    const child = await brokerProcess(s.address, 'bk', ['killed-topic']);
    children.push(child);
    const row = page.locator('[data-testid="broker-row"][data-broker="c1/bk/0"]');
    await row.waitFor();
    const topicRow = page.locator('[data-testid="topic-row"][data-topic="killed-topic"]');
    await topicRow.waitFor();

    child.kill('SIGKILL');
    await exited(child);
    await row.waitFor({ state: 'detached' });
    await topicRow.waitFor({ state: 'detached' });
    // The overview's count follows (refreshed after the membership event).
    const rows = await page.getByTestId('broker-row').count();
    await page.getByTestId('count-brokers').and(page.getByText(String(rows), { exact: true })).waitFor();
    await check();
  });

  test('the lag chart draws a line per group once positions are reported', async () => {
    await call(
      s.brokers,
      'registerBroker',
      report('bl', 0, ['lag-topic'], {
        groups: [{ name: 'billing', consumeMode: 1, subscriptions: [{ topic: 'lag-topic', expression: '*', filterType: 1 }], retryPolicy: undefined, consumeOrderly: false, attributes: {} }],
      }),
    );
    const { page, check } = await openConsole(browser.ctx, s, '?refresh=500');
    await page.locator('[data-testid="group-row"][data-group="billing"]').waitFor();
    await call(s.brokers, 'reportPositions', {
      cluster: 'c1',
      brokerName: 'bl',
      brokerId: 0,
      full: true,
      queuePositions: [
        { topic: 'lag-topic', queueId: 0, minOffset: 0, maxOffset: 500 },
        { topic: 'lag-topic', queueId: 1, minOffset: 0, maxOffset: 300 },
      ],
      consumerPositions: [
        { group: 'billing', topic: 'lag-topic', queueId: 0, committedOffset: 450 },
        { group: 'billing', topic: 'lag-topic', queueId: 1, committedOffset: 100 },
      ],
    } as Parameters<typeof s.brokers.reportPositions>[0]);
    await page.locator('[data-testid="group-row"][data-group="billing"] [data-testid="group-lag"]').and(page.getByText('250', { exact: true })).waitFor();
    // A path with at least two points at lag 250 (the y axis tops at 250: the line runs along the top).
    const line = page.locator('svg[data-testid="lag-chart"] path[data-testid="lag-line"][data-group="billing"]');
    await page.getByTestId('lag-legend').getByText('billing: 250').waitFor();
    await line.waitFor({ state: 'attached' });
    assert.match((await line.getAttribute('d'))!, /^M[\d.]+,[\d.]+(L[\d.]+,[\d.]+)+$/);

    // The group's per-queue lag.
    await page.locator('[data-testid="group-row"][data-group="billing"]').getByRole('button', { name: 'billing' }).click();
    await page.getByTestId('lag-detail').getByTestId('lag-table').getByRole('row').nth(2).waitFor();
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

  test('an admin write without the token shows UNAUTHENTICATED, with another role’s PERMISSION_DENIED, with the admin token succeeds', async () => {
    const page = await browser.ctx.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(`http://127.0.0.1:${s.server.httpPort}/console/`);
    // Reads need the token too: the page says so.
    await page.locator('[data-testid="error"][data-source="Admin/WatchCluster"][data-code="UNAUTHENTICATED"]').waitFor();

    await page.getByTestId('topic-name').fill('token-topic');
    await page.getByTestId('topic-cluster').fill('c1');
    const status = page.getByTestId('topic-result').getByTestId('result-status');
    await page.getByTestId('topic-create').click();
    await status.and(page.locator('[data-code="UNAUTHENTICATED"]')).waitFor();
    assert.match(await status.innerText(), /UNAUTHENTICATED \(HTTP 401\)/);

    await page.getByLabel('Admin token').fill('console-broker');
    await page.getByTestId('token-save').click();
    await page.getByTestId('topic-create').click();
    await status.and(page.locator('[data-code="PERMISSION_DENIED"]')).waitFor();
    assert.match(await status.innerText(), /the broker token may not call nameserver\.v1\.Admin/);
    await assert.rejects(call(s.routes, 'getRoute', { topic: 'token-topic' }), (e: grpc.ServiceError) => e.code === grpc.status.NOT_FOUND);

    await page.getByLabel('Admin token').fill('console-admin');
    await page.getByTestId('token-save').click();
    assert.equal(await page.evaluate('sessionStorage.getItem("nameserver-console-token")'), 'console-admin');
    await page.getByTestId('topic-create').click();
    await status.and(page.locator('[data-code="OK"]')).waitFor();
    assert.equal((await call(s.routes, 'getRoute', { topic: 'token-topic' })).route!.brokers[0]!.brokerName, 'ta1');
    // With the token the live views work: the broker is listed, the read errors are gone.
    await page.locator('[data-testid="broker-row"][data-broker="c1/ta1/0"]').waitFor();
    await page.locator('[data-testid="topic-row"][data-topic="token-topic"]').waitFor();
    await page.getByTestId('errors').waitFor({ state: 'hidden' });
    assert.deepEqual(pageErrors, []);
    await page.close();
  });
});
