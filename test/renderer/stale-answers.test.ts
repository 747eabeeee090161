import path from 'node:path';
import type { Page, Request, Route } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import type { Execution, ExecutionState } from '../../common/executions.js';
import { openDatabase } from '../../main/storage/database.js';
import { ExecutionRepository } from '../../main/storage/execution-repository.js';
import { launchBrowser } from '../helpers/browser.js';
import { serveForFile } from '../helpers/serve.js';
import { named, plantFinished } from './planted-executions.js';

/**
 * A page asked for one thing, then another: the first answer arriving last must
 * not replace the second. Chromium against `agented serve` (its Claude Code the
 * scripted agent); one answer is held back in the browser, as a slow network
 * would, and let through once the later choice is shown.
 */
const API_KEY = 'renderer-stale-answers-key-0123456789abcdef';
const served = serveForFile(API_KEY, { scripted: true });

async function api<T>(method: string, urlPath: string, body?: unknown): Promise<T> {
  const response = await fetch(`${served.ready.url}${urlPath}`, {
    method,
    headers: { authorization: `Bearer ${API_KEY}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  expect(response.status).toBeLessThan(300);
  return (await response.json()) as T;
}

const createTrigger = async (name: string, promptTemplate = 'hello') => (await api<{ id: string }>('POST', '/api/triggers', { name, kind: 'manual', promptTemplate })).id;

/** Waits until the execution is in one of `states`. */
async function reaches(id: string, states: ExecutionState[]): Promise<Execution> {
  for (let waited = 0; waited < 20_000; waited += 100) {
    const execution = await api<Execution>('GET', `/api/executions/${id}`);
    if (states.includes(execution.state)) return execution;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`execution ${id} did not reach ${states.join(' or ')}`);
}

const run = async (triggerId: string) => (await api<{ executionId: string }>('POST', `/api/triggers/${triggerId}/run`, { params: {} })).executionId;
const runToEnd = async (triggerId: string) => (await reaches(await run(triggerId), ['succeeded', 'failed'])).id;

async function signIn(page: Page, to: string): Promise<void> {
  await page.goto(`${served.ready.url}/login?next=${encodeURIComponent(to)}`);
  await page.getByTestId('login-secret').fill(API_KEY);
  await page.getByTestId('login-submit').click();
  await page.waitForURL((url) => url.pathname === new URL(to, served.ready.url).pathname);
}

/**
 * Holds back the answer to the first request of each path that `matches` picks: the server
 * answers at once, the page gets the answer only on `release()`. Later requests pass.
 */
async function holdFirstAnswers(page: Page, matches: (url: URL) => boolean): Promise<{ held: () => number; release: () => Promise<void> }> {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const heldPaths = new Set<string>();
  const delivered: Promise<void>[] = [];
  await page.route(
    (url) => url.pathname.startsWith('/api/') && matches(url),
    async (route) => {
      const request = route.request();
      const { pathname } = new URL(request.url());
      if (heldPaths.has(pathname)) return route.continue();
      heldPaths.add(pathname);
      const response = await route.fetch();
      delivered.push(new Promise<void>((resolve) => page.on('requestfinished', (done: Request) => done === request && resolve())));
      await released;
      await route.fulfill({ response });
    },
  );
  return {
    /** How many answers are held (each made by the server already). */
    held: () => delivered.length,
    release: async () => {
      release();
      await Promise.all(delivered);
      // The page has the answer; give it time to read it and render what it does with it.
      await page.waitForTimeout(300);
    },
  };
}

/** A run of the trigger, cancelled while it works, and its replay, running. */
async function cancelledAndReplayed(triggerId: string): Promise<{ original: string; replay: string }> {
  const original = await run(triggerId);
  await reaches(original, ['running']);
  await api('POST', `/api/executions/${original}/cancel`);
  await reaches(original, ['cancelled']);
  const replay = (await api<{ executionId: string }>('POST', `/api/executions/${original}/replay`)).executionId;
  await reaches(replay, ['running']);
  return { original, replay };
}

describe('a late answer to an earlier choice', () => {
  it('the usage page shows the period chosen last, not the one whose answer came last', async () => {
    const browser = await launchBrowser();
    try {
      const page = await browser.context.newPage();
      await signIn(page, '/usage');
      const total = page.getByTestId('usage-total').locator('h2');
      await expect.poll(() => total.textContent()).toBe('Total today');

      const week = await holdFirstAnswers(page, (url) => url.pathname === '/api/usage' && url.searchParams.get('period') === 'week');
      await page.getByTestId('period-week').check({ force: true });
      await expect.poll(week.held).toBe(1);
      await page.getByTestId('period-month').check({ force: true });
      await expect.poll(() => total.textContent()).toBe('Total this month');

      await week.release();
      expect(await total.textContent()).toBe('Total this month');
      expect(await page.getByTestId('period-month').isChecked()).toBe(true);
    } finally {
      await browser.close();
    }
  });

  it('the accounts page counts the requests of the period chosen last', async () => {
    const triggerId = await createTrigger('Counted trigger');
    const browser = await launchBrowser();
    try {
      const page = await browser.context.newPage();
      await signIn(page, '/accounts');
      const claude = page.getByTestId('accounts-claude');
      const before = Number(/— (\d+) requests?/.exec((await claude.textContent()) ?? '')?.[1]);
      expect(before).toBeGreaterThanOrEqual(0);

      // The week's answer is made now, before the run: it counts one request fewer than an answer made after it.
      const week = await holdFirstAnswers(page, (url) => url.pathname === '/api/accounts/stats' && url.searchParams.get('period') === 'week');
      await page.getByTestId('period-week').check({ force: true });
      await expect.poll(week.held).toBe(1);
      await runToEnd(triggerId);
      const counted = `— ${before + 1} request`;
      // The run's live changes reload the page, at most once a second: those answers for the week pass, and count it.
      await page.waitForTimeout(1_500);
      await expect.poll(() => claude.textContent()).toContain(counted);
      await page.getByTestId('period-month').check({ force: true });
      await expect.poll(() => claude.textContent()).toContain(counted);

      await week.release();
      expect(await claude.textContent()).toContain(counted);
    } finally {
      await browser.close();
    }
  });

  it('the executions list shows the trigger chosen last in its filter', async () => {
    const first = await createTrigger('First filtered trigger');
    const second = await createTrigger('Second filtered trigger');
    const firstRun = await runToEnd(first);
    const secondRun = await runToEnd(second);
    const browser = await launchBrowser();
    try {
      const page = await browser.context.newPage();
      await signIn(page, '/executions');
      await page.getByTestId(`execution-row-${firstRun}`).waitFor();
      const rows = () => page.locator('[data-testid="execution-table"] tbody tr').evaluateAll((found) => found.map((row) => row.getAttribute('data-testid')));

      const slow = await holdFirstAnswers(page, (url) => url.pathname.startsWith('/api/executions') && url.searchParams.get('trigger') === first);
      await page.getByTestId('filter-trigger').selectOption(first);
      await expect.poll(slow.held).toBe(2);
      await page.getByTestId('filter-trigger').selectOption(second);
      await expect.poll(rows).toEqual([`execution-row-${secondRun}`]);

      await slow.release();
      expect(await rows()).toEqual([`execution-row-${secondRun}`]);
      expect(await page.getByTestId('execution-totals').textContent()).toContain('1 execution match');
    } finally {
      await browser.close();
    }
  });

  it('the execution page shows the execution of its address after a quick switch', async () => {
    // The replay is still running when the page shows it: nothing from its stream or the live changes reloads it.
    const triggerId = await createTrigger('Replayed trigger', 'WORK 30000');
    const { original, replay } = await cancelledAndReplayed(triggerId);
    const browser = await launchBrowser();
    try {
      const page = await browser.context.newPage();
      await signIn(page, `/executions/${replay}`);
      const lede = page.locator('.page-lede');
      await expect.poll(() => lede.textContent()).toContain(replay);

      const slow = await holdFirstAnswers(page, (url) => url.pathname === `/api/executions/${original}`);
      await page.getByRole('link', { name: original, exact: true }).click();
      await expect.poll(slow.held).toBe(1);
      await page.goBack();
      await expect.poll(() => lede.textContent()).toContain(replay);
      await expect.poll(() => page.getByTestId('execution-state').getAttribute('data-state')).toBe('running');

      await slow.release();
      expect(await lede.textContent()).toContain(`${replay} · replay of ${original}`);
      expect(await page.getByTestId('execution-state').getAttribute('data-state')).toBe('running');
    } finally {
      await browser.close();
      await api('POST', `/api/executions/${replay}/cancel`);
    }
  });

  it('the executions list keeps "Load older" disabled until the filter chosen last has answered', async () => {
    // More than a page of an old trigger's executions, written straight into the worker's file: the list has older ones to load.
    const paged = await createTrigger('Paged trigger');
    const db = openDatabase({ file: path.join(served.dataDir, 'agented.db') });
    try {
      const plant = plantFinished(db, new ExecutionRepository(db));
      const dayAgo = Date.now() - 86_400_000;
      named('exe_paged_', 51).forEach((id, index) => plant(id, paged, new Date(dayAgo - index * 1_000).toISOString()));
    } finally {
      db.close();
    }
    const other = await createTrigger('Unpaged trigger');
    const otherRun = await runToEnd(other);
    const browser = await launchBrowser();
    try {
      const page = await browser.context.newPage();
      await signIn(page, '/executions');
      const loadOlder = page.getByTestId('load-more');
      await expect.poll(() => loadOlder.isEnabled()).toBe(true);

      const first = await holdFirstAnswers(page, (url) => url.pathname.startsWith('/api/executions') && url.searchParams.get('trigger') === paged);
      await page.getByTestId('filter-trigger').selectOption(paged);
      await expect.poll(first.held).toBe(2);
      const second = await holdFirstAnswers(page, (url) => url.pathname.startsWith('/api/executions') && url.searchParams.get('trigger') === other);
      await page.getByTestId('filter-trigger').selectOption(other);
      await expect.poll(second.held).toBe(2);

      // The first filter's answer, dropped, does not end the wait for the second's.
      await first.release();
      expect(await loadOlder.isDisabled()).toBe(true);

      await second.release();
      expect(await page.locator('[data-testid="execution-table"] tbody tr').evaluateAll((found) => found.map((row) => row.getAttribute('data-testid')))).toEqual([`execution-row-${otherRun}`]);
    } finally {
      await browser.close();
    }
  });

  it('the executions list merges a live change into the filter chosen, not into the rows of the one before', async () => {
    const older = await createTrigger('Earlier unfiltered trigger');
    await runToEnd(older);
    const filtered = await createTrigger('Live filtered trigger');
    const firstRun = await runToEnd(filtered);
    const browser = await launchBrowser();
    try {
      const page = await browser.context.newPage();
      await signIn(page, '/executions');
      await page.getByTestId(`execution-row-${firstRun}`).waitFor();
      const rows = () => page.locator('[data-testid="execution-table"] tbody tr').evaluateAll((found) => found.map((row) => row.getAttribute('data-testid')));

      // The filter's answer is made now, before the run below: it does not have it.
      const slow = await holdFirstAnswers(page, (url) => url.pathname.startsWith('/api/executions') && url.searchParams.get('trigger') === filtered);
      await page.getByTestId('filter-trigger').selectOption(filtered);
      await expect.poll(slow.held).toBe(2);
      const secondRun = await runToEnd(filtered);
      await expect.poll(rows).toEqual([`execution-row-${secondRun}`, `execution-row-${firstRun}`]);

      await slow.release();
      expect(await rows()).toEqual([`execution-row-${secondRun}`, `execution-row-${firstRun}`]);
      expect(await page.getByTestId('execution-totals').textContent()).toContain('2 executions match');
    } finally {
      await browser.close();
    }
  });

  it('the execution page opened during a cancel shows its own execution when the cancel answers', async () => {
    const triggerId = await createTrigger('Cancelled trigger', 'WORK 30000');
    const { original, replay } = await cancelledAndReplayed(triggerId);
    const browser = await launchBrowser();
    try {
      const page = await browser.context.newPage();
      await signIn(page, `/executions/${replay}`);
      const lede = page.locator('.page-lede');
      await expect.poll(() => lede.textContent()).toContain(replay);

      const slow = await holdFirstAnswers(page, (url) => url.pathname === `/api/executions/${replay}/cancel`);
      await page.getByTestId('cancel-execution').click();
      await expect.poll(slow.held).toBe(1);
      await page.getByRole('link', { name: original, exact: true }).click();
      await expect.poll(() => lede.textContent()).toContain(`${original} · manual`);

      // Its log has been read to the end: nothing reloads the page after this.
      await expect.poll(() => page.getByTestId('stream-state').textContent()).toContain('complete');
      // The cancel on its way is the other execution's: this one's Replay is free.
      expect(await page.getByTestId('replay-execution').isEnabled()).toBe(true);

      await slow.release();
      expect(await lede.textContent()).toContain(`${original} · manual`);
    } finally {
      await browser.close();
    }
  });

  it('the accounts page keeps a switch as toggled when a load from before the toggle answers after it', async () => {
    const account = await api<{ id: string }>('POST', '/api/accounts', { backend: 'codex', name: 'toggled-account', configDir: path.join(served.dataDir, 'codex-home') });
    const browser = await launchBrowser();
    try {
      const page = await browser.context.newPage();
      await signIn(page, '/accounts');
      const toggle = page.getByTestId('account-toggle-toggled-account');
      await expect.poll(() => toggle.isChecked()).toBe(true);

      // Choosing a period reloads the list; its answer, made now, has the account on.
      const slow = await holdFirstAnswers(page, (url) => url.pathname === '/api/accounts');
      await page.getByTestId('period-week').check({ force: true });
      await expect.poll(slow.held).toBe(1);
      await toggle.uncheck({ force: true });
      await expect.poll(() => toggle.isEnabled()).toBe(true);
      expect(await toggle.isChecked()).toBe(false);

      await slow.release();
      expect(await toggle.isChecked()).toBe(false);
      expect(await page.getByTestId('account-row-toggled-account').locator('.switch-text').textContent()).toBe('off');
    } finally {
      await browser.close();
      const deleted = await fetch(`${served.ready.url}/api/accounts/${account.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${API_KEY}` } });
      expect(deleted.status).toBe(204);
    }
  });
});

/**
 * A page's first load overtaken by the reloads live changes ask for, as on a
 * busy worker over a slow link: the page still shows what it opened. Answers
 * are held back or slowed in the browser, as a slow network would.
 */
describe('a first load overtaken by live changes', () => {
  it('the execution page opens the log stream and names the trigger when a live change reloads it before the first answer is shown', async () => {
    const executionId = await run(await createTrigger('Overtaken trigger', 'WORK 30000'));
    await reaches(executionId, ['running']);
    const browser = await launchBrowser();
    try {
      const page = await browser.context.newPage();
      await signIn(page, '/executions');
      await page.getByTestId(`execution-row-${executionId}`).waitFor();

      // Every answer for the execution is held, each made by the server at once, until let through.
      const held: { route: Route; response: Awaited<ReturnType<Route['fetch']>> }[] = [];
      let holding = true;
      await page.route(
        (url) => url.pathname === `/api/executions/${executionId}`,
        async (route) => {
          if (!holding) return route.continue();
          held.push({ route, response: await route.fetch() });
        },
      );
      await page.getByTestId(`execution-row-${executionId}`).getByRole('link').click();
      await expect.poll(() => held.length).toBe(1);
      // The run ends: the page's live change asks for the execution again.
      await api('POST', `/api/executions/${executionId}/cancel`);
      await expect.poll(() => held.length).toBe(2);

      // The first answer comes, then the reload's.
      const [first] = held;
      await first!.route.fulfill({ response: first!.response });
      await page.waitForTimeout(300);
      holding = false;
      for (const { route, response } of held.slice(1)) await route.fulfill({ response });

      await expect.poll(() => page.getByTestId('execution-state').getAttribute('data-state')).toBe('cancelled');
      await expect.poll(() => page.getByTestId('stream-state').textContent()).toContain('complete');
      await expect.poll(() => page.locator('.execution-title').textContent()).toContain('Overtaken trigger');
    } finally {
      await browser.close();
    }
  });

  it('the executions list shows its first page while runs keep changing and each answer takes longer than a reload\'s wait', async () => {
    const triggerId = await createTrigger('Busy trigger');
    const first = await runToEnd(triggerId);
    const browser = await launchBrowser();
    let busy = true;
    // Runs one after another: a change every few hundred milliseconds, each reloading the list.
    const runs = (async () => {
      for (const until = Date.now() + 20_000; busy && Date.now() < until; ) {
        await runToEnd(triggerId);
      }
    })();
    try {
      const page = await browser.context.newPage();
      await signIn(page, '/');
      await page.route(
        (url) => url.pathname.startsWith('/api/executions'),
        async (route) => {
          const response = await route.fetch();
          await new Promise((resolve) => setTimeout(resolve, 1_200));
          // The browser may have closed meanwhile, at the end of the test.
          await route.fulfill({ response }).catch(() => undefined);
        },
      );
      await page.getByRole('link', { name: 'Executions', exact: true }).click();
      await expect.poll(() => page.getByTestId(`execution-row-${first}`).count(), { timeout: 8_000 }).toBe(1);
    } finally {
      busy = false;
      await runs;
      await browser.close();
    }
  }, 40_000);
});
