// The webhook ingest without HTTP: DeliveryIngest.receive() on real SQLite,
// in bursts of 50 (as 50 connections deliver them), against the persistence
// floor — the same three rows (dedup key, execution, delivery) inserted with
// the same statements in one transaction per burst, nothing else. The ratio
// says how much of the ingest's cost is the writing itself.
import crypto from 'node:crypto';
import { openDatabase } from '../dist/main/storage/database.js';
import { DedupRepository } from '../dist/main/storage/dedup-repository.js';
import { DeliveryRepository } from '../dist/main/storage/delivery-repository.js';
import { ExecutionRepository } from '../dist/main/storage/execution-repository.js';
import { TriggerRepository } from '../dist/main/storage/trigger-repository.js';
import { DeliveryIngest } from '../dist/main/triggers/delivery-ingest.js';
import { inlinePreparer } from '../dist/main/triggers/delivery-preparer.js';
import { TriggerCreate } from '../dist/common/triggers.js';
import { Logger, MemorySink } from '../dist/main/telemetry/logger.js';
import { withTempDir } from './processes.mjs';

const BURST = 50;
const ROUNDS = Number(process.env.BENCH_INGEST_ROUNDS ?? 200);
const SECRET = 'bench-secret';

function repositories(file) {
  const db = openDatabase({ file });
  return { db, triggers: new TriggerRepository(db), deliveries: new DeliveryRepository(db), executions: new ExecutionRepository(db), dedup: new DedupRepository(db) };
}

async function timeRounds(runBurst) {
  for (let i = 0; i < 20; i += 1) await runBurst();
  const start = process.hrtime.bigint();
  for (let i = 0; i < ROUNDS; i += 1) await runBurst();
  return Number(process.hrtime.bigint() - start) / 1000 / (ROUNDS * BURST);
}

export const ingest = {
  name: 'ingest',
  async run() {
    return withTempDir(async (temp) => {
      const body = Buffer.from(JSON.stringify({ action: 'opened', pull_request: { number: 1, title: 'Fix the flaky test', body: 'x'.repeat(3300) } }));
      const signature = `sha256=${crypto.createHmac('sha256', SECRET).update(body).digest('hex')}`;
      const headers = (id) => ({ host: '127.0.0.1:8787', 'content-type': 'application/json', 'content-length': String(body.length), 'x-github-event': 'pull_request', 'x-github-delivery': id, 'x-hub-signature-256': signature });

      const full = repositories(`${temp}/ingest.db`);
      full.triggers.insert('trg_bench', TriggerCreate.parse({ name: 'bench', kind: 'github', promptTemplate: 'Review {{payload.pull_request.title}}', github: { events: ['pull_request.opened'] } }), new Date().toISOString());
      const subject = new DeliveryIngest({
        ...full,
        secretOf: async () => SECRET,
        preparer: inlinePreparer({ dedupTtlMs: 60_000, providerDedupTtlMs: 3_600_000, maxValueLength: 2000 }),
        options: { inspectorBodyCapBytes: 256 * 1024, deliveriesKept: 50 },
      });
      const log = Logger.create({ sink: new MemorySink() });
      let n = 0;
      const ingestMicros = await timeRounds(() => Promise.all(Array.from({ length: BURST }, () => subject.receive('trg_bench', headers(`d-${n++}`), body, log))));

      const floor = repositories(`${temp}/floor.db`);
      let m = 0;
      const writeBurst = floor.db.transaction(() => {
        for (let i = 0; i < BURST; i += 1) {
          m += 1;
          const now = new Date().toISOString();
          floor.dedup.claim('trg_bench', `id:d-${m}`, 3_600_000, Date.now());
          floor.executions.insert({ id: `exe_${m}`, triggerId: 'trg_bench', source: 'webhook', state: 'queued', reason: null, backend: 'claude', model: null, params: {}, prompt: 'Review Fix the flaky test', promptContext: [], concurrencyKey: null, deliveryId: `dlv_${m}`, replayOf: null, createdAt: now });
          floor.deliveries.add({ id: `dlv_${m}`, triggerId: 'trg_bench', receivedAt: now, headers: headers(`d-${m}`), body, bodyBytes: body.length, truncated: false, verified: true, signatureCheck: 'passed', outcome: 'execution', reason: null, executionId: `exe_${m}`, dedupKey: `id:d-${m}` }, 50);
        }
      });
      const floorMicros = await timeRounds(async () => writeBurst());
      full.db.close();
      floor.db.close();

      const result = {
        name: 'webhook ingest without HTTP (verify, filter, dedup, render, persist) vs writing the same rows alone',
        burst: BURST,
        ingestMicrosPerDelivery: Number(ingestMicros.toFixed(1)),
        floorMicrosPerDelivery: Number(floorMicros.toFixed(1)),
        ratio: Number((floorMicros / ingestMicros).toFixed(3)),
      };
      console.log(`${result.name}: ${result.ingestMicrosPerDelivery} µs vs ${result.floorMicrosPerDelivery} µs per delivery → ratio ${result.ratio}`);
      return [result];
    });
  },
};
