import { describe, expect, it } from 'vitest';
import { TriggerCreate } from '../../common/triggers.js';
import { openDatabase } from '../../main/storage/database.js';
import { DedupRepository } from '../../main/storage/dedup-repository.js';
import { DeliveryRepository } from '../../main/storage/delivery-repository.js';
import { Pruner } from '../../main/storage/pruner.js';
import { TriggerRepository } from '../../main/storage/trigger-repository.js';
import { Logger, MemorySink } from '../../main/telemetry/logger.js';
import { makeTempDir } from '../helpers/temp.js';

describe('Pruner', () => {
  it('deletes a backlog in chunks, yielding to the event loop between them, until each trigger keeps its newest deliveries and no expired key is left', async () => {
    const temp = makeTempDir();
    const db = openDatabase({ file: `${temp.dir}/agented.db` });
    try {
      const triggers = new TriggerRepository(db);
      const deliveries = new DeliveryRepository(db);
      const dedup = new DedupRepository(db);
      const now = Date.now();
      const definition = TriggerCreate.parse({ name: 'hooks', kind: 'webhook', promptTemplate: 'x' });
      for (const id of ['trg_a', 'trg_b']) triggers.insert(id, definition, new Date(now).toISOString());
      db.transaction(() => {
        for (let index = 0; index < 1_300; index += 1) {
          const triggerId = index % 2 === 0 ? 'trg_a' : 'trg_b';
          // Recorded under a limit that keeps them all (the limit was lowered since).
          deliveries.add(
            {
              id: `dlv_${index}`, triggerId, receivedAt: new Date(now + index).toISOString(), headers: {}, body: Buffer.from(`{"n":${index}}`),
              bodyBytes: 8, truncated: false, verified: true, signatureCheck: 'passed', outcome: 'execution', reason: null, executionId: null, dedupKey: null,
            },
            10_000,
          );
          // Half the keys have expired.
          dedup.claim(triggerId, `id:${index}`, index % 2 === 0 ? -1 : 60_000, now);
        }
      })();

      const chunks: Record<string, number>[] = [];
      const pruner = new Pruner((limit) => {
        const counts = { dedupKeys: dedup.prune(Date.now(), limit), deliveries: deliveries.prune(50, limit) };
        chunks.push(counts);
        return counts;
      }, Logger.create({ sink: new MemorySink() }), 200);
      // Something else wants the event loop meanwhile: it runs between the chunks, not after them all.
      let turnsBetween = 0;
      const otherWork = setInterval(() => (turnsBetween += 1), 0);
      pruner.pass();
      expect(chunks).toHaveLength(1);
      await pruner.idle();
      clearInterval(otherWork);

      expect(chunks.every((chunk) => chunk.dedupKeys! <= 200 && chunk.deliveries! <= 200)).toBe(true);
      expect(chunks.reduce((sum, chunk) => sum + chunk.deliveries!, 0)).toBe(1_300 - 100);
      expect(chunks.reduce((sum, chunk) => sum + chunk.dedupKeys!, 0)).toBe(650);
      expect(chunks.length).toBeGreaterThanOrEqual(7);
      expect(turnsBetween).toBeGreaterThan(0);
      for (const triggerId of ['trg_a', 'trg_b']) {
        const kept = db.prepare('SELECT id FROM deliveries WHERE trigger_id = ? ORDER BY trigger_seq').all(triggerId) as { id: string }[];
        expect(kept).toHaveLength(50);
        // The newest ones stay.
        expect(kept.at(-1)!.id).toBe(triggerId === 'trg_a' ? 'dlv_1298' : 'dlv_1299');
        expect(kept[0]!.id).toBe(triggerId === 'trg_a' ? 'dlv_1200' : 'dlv_1201');
      }
      expect(dedup.count()).toBe(650);
      pruner.dispose();
    } finally {
      db.close();
      temp.remove();
    }
  });
});
