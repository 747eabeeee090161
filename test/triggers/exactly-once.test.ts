import crypto from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { HealthReady } from '../../common/api.js';
import type { Execution, ExecutionSummary } from '../../common/executions.js';
import type { TriggerCreated } from '../../common/triggers.js';
import { openDatabase } from '../../main/storage/database.js';
import { DedupRepository } from '../../main/storage/dedup-repository.js';
import { getWith, githubDelivery, planBurst, postWith, runBurst, type SendOutcome } from '../helpers/exactly-once-burst.js';
import { request } from '../helpers/http.js';
import { startInProcess } from '../helpers/in-process.js';
import { runCli, type ServeProcess } from '../helpers/serve.js';
import { makeTempDir } from '../helpers/temp.js';
import { sleep } from '../helpers/time.js';

const KEY = 'exactly-once-test-key-0123456789abcdef';
const auth = { authorization: `Bearer ${KEY}` };
const TOTAL = 2_000;
const DUPLICATES = 600;
const PARALLEL = 50;

/** Everything a test started, ended in afterEach even when an assertion failed first. */
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function tempHome(extra: Record<string, string> = {}): { dataDir: string; env: Record<string, string> } {
  const temp = makeTempDir();
  cleanups.push(temp.remove);
  const dataDir = path.join(temp.dir, 'data');
  return {
    dataDir,
    env: {
      HOME: temp.dir,
      AGENTED_API_KEY: KEY,
      AGENTED_DATA_DIR: dataDir,
      AGENTED_LOG_DIR: path.join(temp.dir, 'logs'),
      // The pruner (which also runs when a restarted worker starts) keeps the newest N deliveries per trigger;
      // keep them all, so the database checks below can map every execution to the delivery that made it.
      AGENTED_DELIVERIES_KEPT: '10000',
      ...extra,
    },
  };
}

function serve(env: Record<string, string>): ServeProcess {
  const server = runCli({ env });
  cleanups.push(() => server.killGroup('SIGKILL'));
  return server;
}

function keepAliveAgent(): http.Agent {
  const agent = new http.Agent({ keepAlive: true, maxSockets: PARALLEL });
  cleanups.push(() => agent.destroy());
  return agent;
}

async function stopGracefully(server: ServeProcess): Promise<void> {
  expect(await server.stop('SIGTERM')).toBe(0);
}

async function createGithubTrigger(url: string): Promise<{ id: string; secret: string }> {
  const created = await request(url, {
    method: 'POST',
    path: '/api/triggers',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({
      name: 'review PRs',
      kind: 'github',
      promptTemplate: 'Review PR #{{payload.pull_request.number}}: {{payload.pull_request.title}}',
      github: { events: ['pull_request.opened'] },
    }),
  });
  expect(created.status).toBe(201);
  const trigger = created.json<TriggerCreated>();
  expect(trigger.signature.scheme).toBe('github');
  expect(trigger.secret).toEqual(expect.any(String));
  return { id: trigger.id, secret: trigger.secret! };
}

async function workerPid(url: string): Promise<number> {
  const response = await request(url, { path: '/health/ready', headers: auth });
  expect(response.status).toBe(200);
  return response.json<HealthReady>().pid;
}

/** Every execution of a trigger through GET /api/executions, 200 a page, following nextCursor. */
async function listExecutionIds(agent: http.Agent, url: string, triggerId: string): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | null = null;
  do {
    const query: string = `/api/executions?trigger=${triggerId}&limit=200${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`;
    const page = await getWith(agent, url, query, auth);
    expect(page.status).toBe(200);
    const body = JSON.parse(page.text) as { items: ExecutionSummary[]; nextCursor: string | null };
    expect(body.items.length).toBeLessThanOrEqual(200);
    ids.push(...body.items.map((item) => item.id));
    cursor = body.nextCursor;
  } while (cursor !== null);
  return ids;
}

interface StoredFigures {
  executions: number;
  distinctDeliveryRows: number;
  /** X-GitHub-Delivery → the executions made from a delivery carrying it. */
  executionsByGithubId: Map<string, string[]>;
  dedupKeys: number;
  duplicateRows: number;
}

/** Reads what is on disk, with the server stopped, through a read-only connection. */
function readStored(dataDir: string): StoredFigures {
  const db = new Database(path.join(dataDir, 'agented.db'), { readonly: true, fileMustExist: true });
  try {
    const count = (sql: string) => (db.prepare(sql).get() as { n: number }).n;
    const rows = db
      .prepare(
        `SELECT e.id AS executionId, d.outcome AS outcome, d.execution_id AS deliveryExecutionId, d.dedup_key AS dedupKey,
                json_extract(d.headers, '$."x-github-delivery"') AS githubId
           FROM executions e LEFT JOIN deliveries d ON d.id = e.delivery_id`,
      )
      .all() as { executionId: string; outcome: string | null; deliveryExecutionId: string | null; dedupKey: string | null; githubId: string | null }[];
    const executionsByGithubId = new Map<string, string[]>();
    for (const row of rows) {
      // Each execution points at the delivery that made it, and that delivery back at it.
      expect(row.outcome).toBe('execution');
      expect(row.deliveryExecutionId).toBe(row.executionId);
      expect(row.githubId).toEqual(expect.any(String));
      expect(row.dedupKey).toBe(`id:${row.githubId}`);
      executionsByGithubId.set(row.githubId!, [...(executionsByGithubId.get(row.githubId!) ?? []), row.executionId]);
    }
    // The same, grouped by SQLite itself: no X-GitHub-Delivery made two executions.
    const twice = db
      .prepare(
        `SELECT dedup_key, count(*) AS n FROM deliveries WHERE outcome = 'execution' GROUP BY dedup_key HAVING count(*) > 1`,
      )
      .all();
    expect(twice).toEqual([]);
    return {
      executions: count('SELECT count(*) AS n FROM executions'),
      distinctDeliveryRows: count('SELECT count(DISTINCT delivery_id) AS n FROM executions'),
      executionsByGithubId,
      dedupKeys: count('SELECT count(*) AS n FROM dedup_log'),
      duplicateRows: count(`SELECT count(*) AS n FROM deliveries WHERE outcome = 'duplicate'`),
    };
  } finally {
    db.close();
  }
}

function isDuplicateAnswer(outcome: SendOutcome): boolean {
  return outcome.status === 200 && outcome.json?.duplicate === true;
}

function isAcceptedAnswer(outcome: SendOutcome): boolean {
  return outcome.status === 202 && typeof outcome.json?.executionId === 'string';
}

/** The 202 answers by X-GitHub-Delivery (an id may appear only once). */
function acceptedByGithubId(outcomes: SendOutcome[]): Map<string, string[]> {
  const accepted = new Map<string, string[]>();
  for (const outcome of outcomes.filter(isAcceptedAnswer)) {
    const id = outcome.send.delivery.id;
    accepted.set(id, [...(accepted.get(id) ?? []), outcome.json!.executionId as string]);
  }
  return accepted;
}

describe('webhook deliveries are exactly-once', () => {
  it(
    `${TOTAL} deliveries (30% re-sends) from ${PARALLEL} keep-alive connections make exactly one execution per distinct delivery`,
    async () => {
      const { dataDir, env } = tempHome();
      const server = serve(env);
      const ready = await server.ready;
      const trigger = await createGithubTrigger(ready.url);
      const { sends, distinct } = planBurst(trigger.secret, TOTAL, DUPLICATES, 1);
      expect(distinct).toHaveLength(TOTAL - DUPLICATES);
      expect(sends.filter((send) => send.resend)).toHaveLength(DUPLICATES);
      const agent = keepAliveAgent();

      const { outcomes, elapsedMs } = await runBurst(sends, { baseUrl: ready.url, path: `/hooks/${trigger.id}`, agent, parallel: PARALLEL, retry: false });
      const rate = Math.round((TOTAL / elapsedMs) * 1000);
      console.log(`exactly-once burst: ${TOTAL} deliveries (${distinct.length} distinct, ${DUPLICATES} re-sends, ${sends[0]!.delivery.body.length} B each) over ${PARALLEL} keep-alive connections in ${elapsedMs} ms = ${rate} deliveries/s`);

      // Every request was answered, first time: 202 for a first delivery, 200 duplicate for a re-send.
      expect(outcomes.filter((outcome) => outcome.status === 0 || outcome.failures.length > 0).map((outcome) => outcome.failures)).toEqual([]);
      expect(outcomes.filter((outcome) => !isAcceptedAnswer(outcome) && !isDuplicateAnswer(outcome)).map((outcome) => [outcome.status, outcome.json])).toEqual([]);
      expect(outcomes.filter(isAcceptedAnswer)).toHaveLength(distinct.length);
      expect(outcomes.filter(isDuplicateAnswer)).toHaveLength(DUPLICATES);
      // A re-send may overtake its original, but of each delivery's sends exactly one got the 202.
      const accepted = acceptedByGithubId(outcomes);
      expect(accepted.size).toBe(distinct.length);
      expect([...accepted.values()].filter((ids) => ids.length !== 1)).toEqual([]);
      const answeredIds = new Set([...accepted.values()].flat());
      expect(answeredIds.size).toBe(distinct.length);

      // The API lists exactly those executions.
      const listed = await listExecutionIds(agent, ready.url, trigger.id);
      expect(listed).toHaveLength(distinct.length);
      expect(new Set(listed)).toEqual(answeredIds);

      agent.destroy();
      await stopGracefully(server);
      const stored = readStored(dataDir);
      expect(stored.executions).toBe(distinct.length);
      expect(stored.distinctDeliveryRows).toBe(distinct.length);
      expect(stored.dedupKeys).toBe(distinct.length);
      expect(stored.duplicateRows).toBe(DUPLICATES);
      expect(new Set(stored.executionsByGithubId.keys())).toEqual(new Set(distinct.map((delivery) => delivery.id)));
      for (const [githubId, executionIds] of stored.executionsByGithubId) {
        // One execution per X-GitHub-Delivery, and it is the one the 202 named.
        expect(executionIds).toEqual(accepted.get(githubId));
      }
    },
    60_000,
  );

  it(
    'a worker killed with SIGKILL mid-burst loses no accepted delivery and doubles none, while the client retries',
    async () => {
      const { dataDir, env } = tempHome();
      const server = serve(env);
      const ready = await server.ready;
      const trigger = await createGithubTrigger(ready.url);
      const { sends, distinct } = planBurst(trigger.secret, TOTAL, DUPLICATES, 2);
      const oldPid = await workerPid(ready.url);
      const agent = keepAliveAgent();

      let killedAt: number | undefined;
      let killedAfter = 0;
      let recoveredAt: number | undefined;
      const { outcomes, elapsedMs } = await runBurst(sends, {
        baseUrl: ready.url,
        path: `/hooks/${trigger.id}`,
        agent,
        parallel: PARALLEL,
        retry: true,
        timeoutMs: 5_000,
        deadlineMs: 40_000,
        onAnswer: (answered, outcome) => {
          if (answered === 500) {
            killedAfter = answered;
            killedAt = Date.now();
            process.kill(oldPid, 'SIGKILL');
          }
          // The first request that failed in the crash and then got through marks the new worker serving.
          if (killedAt !== undefined && recoveredAt === undefined && outcome.failures.length > 0) recoveredAt = Date.now();
        },
      });
      expect(killedAt).toBeDefined();
      const newPid = await workerPid(ready.url);
      expect(newPid).not.toBe(oldPid);

      const retried = outcomes.filter((outcome) => outcome.attempts > 1);
      const failedAttempts = outcomes.reduce((sum, outcome) => sum + outcome.failures.length, 0);
      const reasons = new Map<string, number>();
      for (const failure of outcomes.flatMap((outcome) => outcome.failures)) reasons.set(failure, (reasons.get(failure) ?? 0) + 1);
      const accepted = acceptedByGithubId(outcomes);
      // Deliveries whose execution was committed but whose 202 never arrived: the retry was answered "duplicate".
      const lostAnswers = distinct.filter((delivery) => !accepted.has(delivery.id));
      console.log(
        `exactly-once crash: worker ${oldPid} SIGKILLed after ${killedAfter} answers; ${TOTAL} deliveries in ${elapsedMs} ms ` +
          `(${Math.round((TOTAL / elapsedMs) * 1000)} deliveries/s); ${retried.length} requests retried, ${failedAttempts} failed attempts ` +
          `(${[...reasons].map(([reason, n]) => `${reason}: ${n}`).join(', ')}); ${lostAnswers.length} deliveries committed whose 202 was lost, answered duplicate on retry; ` +
          `new worker ${newPid} answering retries ${recoveredAt === undefined ? '?' : recoveredAt - killedAt!} ms after the kill`,
      );

      // The kill hit requests in flight, and the client got every one of them through.
      expect(retried.length).toBeGreaterThan(0);
      expect(outcomes.filter((outcome) => !isAcceptedAnswer(outcome) && !isDuplicateAnswer(outcome)).map((outcome) => [outcome.status, outcome.failures])).toEqual([]);
      // Re-sends were answered duplicate, and so were retries of deliveries whose 202 the crash swallowed.
      expect(outcomes.filter(isDuplicateAnswer)).toHaveLength(DUPLICATES + lostAnswers.length);
      // No delivery was accepted twice.
      expect([...accepted.values()].filter((ids) => ids.length !== 1)).toEqual([]);
      const answeredIds = [...accepted.values()].flat();
      expect(new Set(answeredIds).size).toBe(answeredIds.length);
      // A delivery without a 202 is one whose answer was lost in the crash: some send of it failed.
      const failedGithubIds = new Set(outcomes.filter((outcome) => outcome.failures.length > 0).map((outcome) => outcome.send.delivery.id));
      expect(lostAnswers.filter((delivery) => !failedGithubIds.has(delivery.id)).map((delivery) => delivery.id)).toEqual([]);

      // Every 202's execution exists, after the crash, through the API.
      const missing: string[] = [];
      const queue = [...answeredIds];
      await Promise.all(
        Array.from({ length: PARALLEL }, async () => {
          for (let id = queue.pop(); id !== undefined; id = queue.pop()) {
            const answer = await getWith(agent, ready.url, `/api/executions/${id}`, auth);
            if (answer.status !== 200 || (JSON.parse(answer.text) as Execution).triggerId !== trigger.id) missing.push(`${id}: ${answer.status}`);
          }
        }),
      );
      expect(missing).toEqual([]);
      const listed = await listExecutionIds(agent, ready.url, trigger.id);
      expect(listed).toHaveLength(distinct.length);

      agent.destroy();
      await stopGracefully(server);
      const stored = readStored(dataDir);
      // Every distinct X-GitHub-Delivery has exactly one execution: the 202's when it got one.
      expect(stored.executions).toBe(distinct.length);
      expect(stored.distinctDeliveryRows).toBe(distinct.length);
      expect(stored.dedupKeys).toBe(distinct.length);
      expect(new Set(stored.executionsByGithubId.keys())).toEqual(new Set(distinct.map((delivery) => delivery.id)));
      expect([...stored.executionsByGithubId.values()].filter((ids) => ids.length !== 1)).toEqual([]);
      for (const [githubId, executionIds] of accepted) expect(stored.executionsByGithubId.get(githubId)).toEqual(executionIds);
    },
    90_000,
  );

  it('a dedup key written before a graceful restart still suppresses the duplicate after it', async () => {
    const { dataDir, env } = tempHome();
    const first = serve(env);
    const before = await first.ready;
    const trigger = await createGithubTrigger(before.url);
    const delivery = githubDelivery(trigger.secret, 42);
    const agent = keepAliveAgent();

    const accepted = await postWith(agent, before.url, `/hooks/${trigger.id}`, delivery.headers, delivery.body, 5_000);
    expect(accepted.status).toBe(202);
    const { executionId } = JSON.parse(accepted.text) as { executionId: string };
    agent.destroy();
    await stopGracefully(first);

    const second = serve(env);
    const after = await second.ready;
    const again = await request(after.url, { method: 'POST', path: `/hooks/${trigger.id}`, headers: delivery.headers, body: delivery.body });
    expect(again.status).toBe(200);
    expect(again.json()).toEqual({ duplicate: true });
    const listed = await listExecutionIds(keepAliveAgent(), after.url, trigger.id);
    expect(listed).toEqual([executionId]);

    // The restarted server still reads the sealed secret and accepts a new delivery.
    const fresh = githubDelivery(trigger.secret, 43);
    const control = await request(after.url, { method: 'POST', path: `/hooks/${trigger.id}`, headers: fresh.headers, body: fresh.body });
    expect(control.status).toBe(202);
    await stopGracefully(second);
    const stored = readStored(dataDir);
    expect(stored.executions).toBe(2);
    expect(stored.executionsByGithubId.get(delivery.id)).toEqual([executionId]);
    expect(stored.duplicateRows).toBe(1);
  }, 60_000);
});

describe('expired dedup keys', () => {
  it('DedupRepository: a live key refuses a second claim, an expired one is re-claimable, prune removes only expired keys', () => {
    const temp = makeTempDir();
    cleanups.push(temp.remove);
    const db = openDatabase({ file: path.join(temp.dir, 'agented.db') });
    cleanups.push(() => db.close());
    const dedup = new DedupRepository(db);
    const t0 = 1_700_000_000_000;

    expect(dedup.claim('trg_a', 'id:A', 1_000, t0)).toBe(true);
    expect(dedup.claim('trg_a', 'id:A', 1_000, t0 + 999)).toBe(false);
    // Keys are per trigger.
    expect(dedup.claim('trg_b', 'id:A', 1_000, t0)).toBe(true);
    // Expired: the same key may be claimed again, and is then live for a new TTL.
    expect(dedup.claim('trg_a', 'id:A', 1_000, t0 + 1_001)).toBe(true);
    expect(dedup.claim('trg_a', 'id:A', 1_000, t0 + 1_500)).toBe(false);

    expect(dedup.claim('trg_a', 'id:short', 500, t0)).toBe(true);
    expect(dedup.claim('trg_a', 'id:long', 60_000, t0)).toBe(true);
    // Rows are appended: trg_a's A has two, the expired one kept until it is pruned.
    expect(dedup.count()).toBe(5);

    // At t0 + 1,200: trg_a's first A and trg_b's A (expired t0 + 1,000) and "short" (t0 + 500) go; trg_a's second A (t0 + 2,001) and "long" stay.
    expect(dedup.prune(t0 + 1_200)).toBe(3);
    expect(dedup.count()).toBe(2);
    expect(dedup.claim('trg_a', 'id:A', 1_000, t0 + 1_200)).toBe(false);
    expect(dedup.claim('trg_a', 'id:long', 60_000, t0 + 1_200)).toBe(false);
    expect(dedup.prune(t0 + 1_200)).toBe(0);

    expect(dedup.prune(t0 + 2_001)).toBe(1);
    expect(dedup.count()).toBe(1);
    expect(dedup.claim('trg_a', 'id:long', 60_000, t0 + 2_001)).toBe(false);
    // A pruned key is free again.
    expect(dedup.claim('trg_a', 'id:short', 500, t0 + 2_001)).toBe(true);
    expect(dedup.count()).toBe(2);
  });

  it('with AGENTED_DEDUP_TTL_S=1 an unsigned body is a duplicate within the second and a new execution after it', async () => {
    const server = await startInProcess({ AGENTED_API_KEY: KEY, AGENTED_DEDUP_TTL_S: '1' });
    cleanups.push(() => server.close());
    const created = await request(server.url, {
      method: 'POST',
      path: '/api/triggers',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'plain hook', kind: 'webhook', promptTemplate: 'Handle {{payload.text}}', signature: { scheme: 'none' } }),
    });
    expect(created.status).toBe(201);
    const trigger = created.json<TriggerCreated>();
    expect(trigger.secret).toBeNull();
    const body = JSON.stringify({ text: `build ${crypto.randomUUID()} failed` });
    const post = () => request(server.url, { method: 'POST', path: `/hooks/${trigger.id}`, headers: { 'content-type': 'application/json' }, body });

    const first = await post();
    expect(first.status).toBe(202);
    const second = await post();
    expect(second.status).toBe(200);
    expect(second.json()).toEqual({ duplicate: true });

    await sleep(1_300);
    const third = await post();
    expect(third.status).toBe(202);
    const firstId = first.json<{ executionId: string }>().executionId;
    const thirdId = third.json<{ executionId: string }>().executionId;
    expect(thirdId).not.toBe(firstId);
    const listed = await listExecutionIds(keepAliveAgent(), server.url, trigger.id);
    expect(new Set(listed)).toEqual(new Set([firstId, thirdId]));
  });
});
