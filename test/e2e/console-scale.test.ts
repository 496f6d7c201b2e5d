/**
 * The web console with 10,000 topics, 500 brokers and 1,000 consumer groups, in headless Chromium: the
 * pages load, the counts are right, search, sort and paging return the right rows, a cluster can be
 * chosen, and a route change still reaches the page. Brokers register with unary RegisterBroker
 * (lease sessions). Times are measured and reported (test diagnostics), never asserted.
 *
 * Layout: 5 clusters (scale-0..4) of 50 replica sets (rs-000..rs-249) with two replicas each; topic i
 * (topic-00000..topic-09999) lives on replica sets i mod 250 and (i + 1) mod 250; each replica set
 * holds 4 groups subscribed to its first topics.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { report, topic } from '../fixtures/reports';
import { call, startServer, type Started } from '../helpers/server';
import { launch, openConsole } from './browser';

const SETS = 250;
const CLUSTERS = 5;
const TOPICS = 10_000;
const GROUPS_PER_SET = 4;

const setName = (j: number) => `rs-${String(j).padStart(3, '0')}`;
const clusterOf = (j: number) => `scale-${Math.floor(j / (SETS / CLUSTERS))}`;
const topicName = (i: number) => `topic-${String(i).padStart(5, '0')}`;
/** The replica sets holding topic i. */
const holders = (i: number) => [i % SETS, (i + 1) % SETS];

function topicsOf(j: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < TOPICS; i++) if (holders(i).includes(j)) out.push(topicName(i));
  return out;
}

function registration(j: number, id: number, extra: string[] = []) {
  const topics = [...topicsOf(j), ...extra];
  return report(setName(j), id, topics.map((t) => topic(t)), {
    cluster: clusterOf(j),
    addresses: [`127.0.${j}.${id + 1}:10911`],
    leaseTtlMs: 300_000,
    groups: Array.from({ length: GROUPS_PER_SET }, (_, k) => ({
      name: `group-${String(j * GROUPS_PER_SET + k).padStart(4, '0')}`,
      consumeMode: 1,
      subscriptions: topics.slice(k, k + 2).map((t) => ({ topic: t, expression: '*', filterType: 1 })),
      retryPolicy: undefined,
      consumeOrderly: false,
      attributes: {},
    })),
  });
}

/** Milliseconds `fn` takes. */
async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return Math.round(performance.now() - t0);
}

describe('web console at scale: 10,000 topics, 500 brokers, 1,000 groups', () => {
  let browser: Awaited<ReturnType<typeof launch>>;
  let s: Started;
  let port: number;
  const numbers: Record<string, number | string> = {};

  before(async () => {
    s = await startServer({ httpListen: '127.0.0.1:0', console: true });
    port = s.server.httpPort!;
    numbers['register 500 brokers (ms)'] = await timed(async () => {
      const all = [];
      for (let j = 0; j < SETS; j++) for (const id of [0, 1]) all.push({ j, id });
      for (let k = 0; k < all.length; k += 50) {
        await Promise.all(all.slice(k, k + 50).map(({ j, id }) => call(s.brokers, 'registerBroker', registration(j, id))));
      }
    });
    const info = await call(s.admin, 'getClusterInfo', {});
    assert.equal(info.brokerCount, 2 * SETS);
    assert.equal(info.topicCount, TOPICS);
    browser = await launch();
  });
  after(async (t) => {
    await browser?.close();
    await s?.stop();
    // The numbers, for the report (no limits are asserted).
    console.log(`console scale numbers: ${JSON.stringify(numbers)}`);
    void t;
  });

  /** Record long tasks (main-thread work over 50 ms) from the first moment of the page. */
  async function watchLongTasks(page: Page): Promise<void> {
    await page.addInitScript({
      content: `
        window.__longTasks = [];
        try {
          new PerformanceObserver((l) => { for (const e of l.getEntries()) window.__longTasks.push(Math.round(e.duration)); })
            .observe({ type: 'longtask', buffered: true });
        } catch {}`,
    });
  }
  const longTasks = async (page: Page) => (await page.evaluate(() => (globalThis as unknown as { __longTasks: number[] }).__longTasks)) ?? [];

  test('topics: the page loads every topic, and search, sort and paging return the right rows', async (t) => {
    const page0 = await browser.ctx.newPage();
    await watchLongTasks(page0);
    let loadMs = 0;
    loadMs = await timed(async () => {
      await page0.goto(`http://127.0.0.1:${port}/console/#/topics`);
      await page0.getByTestId('count-topics').and(page0.getByText('10,000', { exact: true })).waitFor({ timeout: 120_000 });
      await page0.getByTestId('topic-row').first().waitFor();
    });
    numbers['topics page: navigation to 10,000 topics listed (ms)'] = loadMs;
    const page = page0;
    const area = page.getByTestId('page-topics');
    const status = page.getByTestId('topics-table-status');
    assert.equal(await status.innerText(), '10,000 topics');
    assert.equal(await page.getByTestId('topic-row').count(), 50, 'one page of rows in the DOM, not 10,000');
    assert.equal(await area.getByTestId('page-number').innerText(), 'Page 1 of 200');
    await page.getByTestId('count-brokers').and(page.getByText('500', { exact: true })).waitFor();
    await page.getByTestId('count-groups').and(page.getByText('1,000', { exact: true })).waitFor();

    const search = page.getByTestId('topic-filter');
    numbers['search one of 10,000 (ms)'] = await timed(async () => {
      await search.fill('topic-09999');
      await status.and(page.getByText('1 of 10,000 topics match', { exact: true })).waitFor();
    });
    const only = page.getByTestId('topic-row');
    assert.equal(await only.count(), 1);
    assert.equal(await only.getAttribute('data-topic'), 'topic-09999');
    assert.match(await only.innerText(), /scale-0, scale-4\s+rs-000, rs-249\s+16\s+16/);

    numbers['search 10 of 10,000 (ms)'] = await timed(async () => {
      await search.fill('OPIC-0999'); // case-insensitive substring
      await status.and(page.getByText('10 of 10,000 topics match', { exact: true })).waitFor();
    });
    assert.deepEqual(
      await page.getByTestId('topic-row').evaluateAll((rs) => rs.map((r) => r.getAttribute('data-topic'))),
      Array.from({ length: 10 }, (_, k) => `topic-0999${k}`),
    );

    await search.fill('');
    await status.and(page.getByText('10,000 topics', { exact: true })).waitFor();
    numbers['sort 10,000 by name, descending (ms)'] = await timed(async () => {
      await area.getByTestId('sort-name').click();
      await page.getByTestId('topic-row').first().and(page.locator('[data-topic="topic-09999"]')).waitFor();
    });
    numbers['sort 10,000 by read queues (ms)'] = await timed(async () => {
      await area.getByTestId('sort-read').click();
      await area.getByTestId('sort-read').locator('xpath=..').and(page.locator('[aria-sort="ascending"]')).waitFor();
    });
    await area.getByTestId('sort-name').click();
    await page.getByTestId('topic-row').first().and(page.locator('[data-topic="topic-00000"]')).waitFor();
    numbers['last page of 200 (ms)'] = await timed(async () => {
      await area.getByTestId('page-last').click();
      await area.getByTestId('page-range').and(page.getByText('9,951–10,000 of 10,000', { exact: true })).waitFor();
    });
    assert.equal(await page.getByTestId('topic-row').last().getAttribute('data-topic'), 'topic-09999');
    await area.getByTestId('page-size').selectOption('200');
    await area.getByTestId('page-number').and(page.getByText('Page 50 of 50', { exact: true })).waitFor();
    assert.equal(await page.getByTestId('topic-row').count(), 200);

    // Still live at this size: a broker reports a new topic, the page shows it.
    await search.fill('late-topic');
    await page.getByTestId('topics-table-nomatch').waitFor();
    numbers['a new topic reaches the filtered table (ms)'] = await timed(async () => {
      await call(s.brokers, 'registerBroker', { ...registration(7, 0, ['late-topic']), dataVersion: { epoch: 'boot-rs-007-0', counter: 2 } });
      await page.locator('[data-testid="topic-row"][data-topic="late-topic"]').waitFor();
    });
    await page.getByTestId('count-topics').and(page.getByText('10,001', { exact: true })).waitFor();

    const tasks = await longTasks(page);
    numbers['topics page: long tasks (count)'] = tasks.length;
    numbers['topics page: longest task (ms)'] = Math.max(0, ...tasks);
    const heap = (await page.evaluate(() => (globalThis as unknown as { performance: { memory?: { usedJSHeapSize: number } } }).performance.memory?.usedJSHeapSize ?? 0)) as number;
    numbers['page JS heap (MB)'] = Math.round(heap / 1e6);
    t.diagnostic(JSON.stringify(numbers));
    await page.close();
  });

  test('cluster: 500 brokers, paged and searchable; choosing a cluster narrows every count', async (t) => {
    const { page, check } = await openConsole(browser.ctx, port, '#/cluster');
    const area = page.getByTestId('page-cluster');
    await page.getByTestId('count-brokers').and(page.getByText('500', { exact: true })).waitFor({ timeout: 60_000 });
    assert.equal(await page.getByTestId('brokers-table-status').innerText(), '500 brokers');
    assert.equal(await area.getByTestId('page-number').innerText(), 'Page 1 of 10');
    assert.equal(await page.getByTestId('broker-row').count(), 50);
    assert.equal(await page.getByTestId('overview-brokers').innerText(), '500');
    assert.equal(await page.getByTestId('overview-replica-sets').innerText(), '250');
    assert.equal(await page.getByTestId('cluster-row').count(), CLUSTERS);

    numbers['search one replica set of 500 brokers (ms)'] = await timed(async () => {
      await page.getByTestId('broker-filter').fill('rs-249');
      await page.getByTestId('brokers-table-status').and(page.getByText('2 of 500 brokers match', { exact: true })).waitFor();
    });
    assert.deepEqual(await page.getByTestId('broker-row').evaluateAll((rs) => rs.map((r) => r.getAttribute('data-broker'))), ['scale-4/rs-249/0', 'scale-4/rs-249/1']);
    await page.getByTestId('broker-filter').fill('');

    const inScale3 = new Set<string>();
    for (let i = 0; i < TOPICS; i++) if (holders(i).some((j) => clusterOf(j) === 'scale-3')) inScale3.add(topicName(i));
    numbers['choose a cluster of 5 (ms)'] = await timed(async () => {
      await page.getByTestId('cluster-select').selectOption('scale-3');
      await page.getByTestId('count-brokers').and(page.getByText('100', { exact: true })).waitFor();
      await page.getByTestId('count-groups').and(page.getByText('200', { exact: true })).waitFor();
    });
    assert.equal(await page.getByTestId('count-topics').innerText(), inScale3.size.toLocaleString('en-US'));
    assert.equal(await page.getByTestId('overview-topics').innerText(), inScale3.size.toLocaleString('en-US'));
    assert.equal(await area.getByTestId('page-number').innerText(), 'Page 1 of 2');
    t.diagnostic(JSON.stringify(numbers));
    await check();
  });

  test('groups: 1,000 groups listed, searchable by name and by topic', async (t) => {
    const { page, check } = await openConsole(browser.ctx, port, '#/groups');
    numbers['groups page: 1,000 groups listed (ms)'] = await timed(() => page.getByTestId('groups-table-status').and(page.getByText('1,000 groups', { exact: true })).waitFor({ timeout: 60_000 }));
    await page.getByTestId('group-filter').fill('group-0999');
    await page.getByTestId('groups-table-status').and(page.getByText('1 of 1,000 groups match', { exact: true })).waitFor();
    assert.equal(await page.getByTestId('group-row').getAttribute('data-group'), 'group-0999');
    // Searching by topic finds the groups subscribed to it.
    await page.getByTestId('group-filter').fill(topicsOf(0)[0]!);
    await page.locator('[data-testid="group-row"][data-group="group-0000"]').waitFor();
    t.diagnostic(JSON.stringify(numbers));
    await check();
  });
});
