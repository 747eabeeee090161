import { afterEach, describe, expect, it } from 'vitest';
import type { Delivery } from '../../common/triggers.js';
import { openDatabase } from '../../main/storage/database.js';
import { DeliveryRepository, type NewDelivery } from '../../main/storage/delivery-repository.js';
import { makeTempDir } from '../helpers/temp.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function repository() {
  const temp = makeTempDir();
  const db = openDatabase({ file: `${temp.dir}/agented.db` });
  cleanups.push(() => {
    db.close();
    temp.remove();
  });
  return { db, deliveries: new DeliveryRepository(db) };
}

let counter = 0;
function delivery(triggerId: string, n: number, extra: Partial<NewDelivery> = {}): NewDelivery {
  counter += 1;
  return {
    id: `dlv_${triggerId}_${n}`,
    triggerId,
    receivedAt: new Date(Date.UTC(2026, 11, 7, 10, 0, 0, counter)).toISOString(),
    headers: { 'x-n': String(n) },
    body: Buffer.from(JSON.stringify({ n })),
    bodyBytes: JSON.stringify({ n }).length,
    truncated: false,
    verified: true,
    signatureCheck: 'passed',
    outcome: 'execution',
    reason: null,
    executionId: `exe_${triggerId}_${n}`,
    dedupKey: `key-${n}`,
    ...extra,
  };
}

const numbers = (items: Delivery[]) => items.map((item) => (JSON.parse(item.body) as { n: number }).n);

describe('DeliveryRepository', () => {
  it('once a trigger holds `keep` deliveries, a new one is written over its oldest: the newest `keep` stay, newest first, with nothing of the row they replaced', () => {
    const { db, deliveries } = repository();
    const rowOf = (id: string) => (db.prepare('SELECT seq FROM deliveries WHERE id = ?').get(id) as { seq: number } | undefined)?.seq;
    deliveries.add(
      delivery('trg_a', 1, { headers: { other: 'header' }, bodyBytes: 999, outcome: 'rejected', verified: false, signatureCheck: 'failed', reason: 'bad signature', executionId: null, dedupKey: null, truncated: true }),
      3,
    );
    const firstRow = rowOf('dlv_trg_a_1');
    for (let n = 2; n <= 3; n += 1) deliveries.add(delivery('trg_a', n), 3);
    const fourth = delivery('trg_a', 4);
    deliveries.add(fourth, 3);

    expect(rowOf('dlv_trg_a_1')).toBeUndefined();
    expect(rowOf('dlv_trg_a_4')).toBe(firstRow);
    const { items, nextCursor } = deliveries.page('trg_a', Number.MAX_SAFE_INTEGER, 10);
    expect(numbers(items)).toEqual([4, 3, 2]);
    expect(nextCursor).toBeNull();
    // Every field is the fourth's, none the first's.
    expect(items[0]).toEqual({
      id: 'dlv_trg_a_4',
      triggerId: 'trg_a',
      receivedAt: fourth.receivedAt,
      headers: { 'x-n': '4' },
      body: '{"n":4}',
      bodyBytes: 7,
      truncated: false,
      verified: true,
      signatureCheck: 'passed',
      outcome: 'execution',
      reason: null,
      executionId: 'exe_trg_a_4',
      dedupKey: 'key-4',
    });

    for (let n = 5; n <= 7; n += 1) {
      deliveries.add(delivery('trg_a', n), 3);
      // Another trigger's deliveries in between are counted apart.
      deliveries.add(delivery('trg_b', n), 3);
    }
    expect(numbers(deliveries.page('trg_a', Number.MAX_SAFE_INTEGER, 10).items)).toEqual([7, 6, 5]);
    expect(numbers(deliveries.page('trg_b', Number.MAX_SAFE_INTEGER, 10).items)).toEqual([7, 6, 5]);
    expect((db.prepare('SELECT count(*) AS n FROM deliveries').get() as { n: number }).n).toBe(6);
  });

  it('the pruner trims a trigger to its newest by their order of arrival, not by the rows they were written over', () => {
    const { deliveries } = repository();
    // 4 and 5 went over the rows of 1 and 2: by row, 3 is now the newest.
    for (let n = 1; n <= 5; n += 1) deliveries.add(delivery('trg_a', n), 3);
    expect(deliveries.prune(2)).toBe(1);
    expect(numbers(deliveries.page('trg_a', Number.MAX_SAFE_INTEGER, 10).items)).toEqual([5, 4]);
  });

  it('a burst of large deliveries reuses the rows it replaces: the file does not grow with the number of deliveries', () => {
    const { db, deliveries } = repository();
    const large = (n: number) => delivery('trg_a', n, { body: Buffer.alloc(20_000, n % 256), bodyBytes: 20_000 });
    const add = db.transaction((from: number, to: number) => {
      for (let n = from; n < to; n += 1) deliveries.add(large(n), 5);
    });
    add(0, 20);
    const pages = db.pragma('page_count', { simple: true }) as number;
    for (let batch = 1; batch <= 10; batch += 1) add(batch * 20, batch * 20 + 20);
    // 200 more bodies of 20 KB (4 MB) went through the same five rows.
    expect(db.pragma('page_count', { simple: true })).toBe(pages);
    const kept = deliveries.page('trg_a', Number.MAX_SAFE_INTEGER, 10).items;
    expect(kept.map((item) => item.id)).toEqual([219, 218, 217, 216, 215].map((n) => `dlv_trg_a_${n}`));
    expect(kept.every((item, index) => item.body === Buffer.alloc(20_000, (219 - index) % 256).toString('utf8'))).toBe(true);
  });

  it('pages backwards from a cursor, newest first, without repeating or skipping a delivery', () => {
    const { deliveries } = repository();
    for (let n = 1; n <= 12; n += 1) deliveries.add(delivery('trg_a', n), 10);
    const seen: number[] = [];
    let cursor = Number.MAX_SAFE_INTEGER;
    for (;;) {
      const page = deliveries.page('trg_a', cursor, 4);
      seen.push(...numbers(page.items));
      if (page.nextCursor === null) break;
      cursor = Number(page.nextCursor);
    }
    expect(seen).toEqual([12, 11, 10, 9, 8, 7, 6, 5, 4, 3]);
  });

  it('a raised limit lets a trigger grow to it; under a lowered one it stays at what it holds until the pruner trims it to the newest', () => {
    const { db, deliveries } = repository();
    const count = () => (db.prepare("SELECT count(*) AS n FROM deliveries WHERE trigger_id = 'trg_a'").get() as { n: number }).n;
    for (let n = 1; n <= 5; n += 1) deliveries.add(delivery('trg_a', n), 3);
    expect(count()).toBe(3);
    for (let n = 6; n <= 10; n += 1) deliveries.add(delivery('trg_a', n), 6);
    expect(count()).toBe(6);
    expect(numbers(deliveries.page('trg_a', Number.MAX_SAFE_INTEGER, 10).items)).toEqual([10, 9, 8, 7, 6, 5]);

    for (let n = 11; n <= 14; n += 1) deliveries.add(delivery('trg_a', n), 2);
    expect(count()).toBe(6);
    expect(numbers(deliveries.page('trg_a', Number.MAX_SAFE_INTEGER, 10).items)).toEqual([14, 13, 12, 11, 10, 9]);
    expect(deliveries.prune(2)).toBe(4);
    expect(numbers(deliveries.page('trg_a', Number.MAX_SAFE_INTEGER, 10).items)).toEqual([14, 13]);
    // Trimmed from the oldest end, the numbering has no gap: the next delivery still replaces the oldest.
    deliveries.add(delivery('trg_a', 15), 2);
    expect(numbers(deliveries.page('trg_a', Number.MAX_SAFE_INTEGER, 10).items)).toEqual([15, 14]);
  });

  it('a delivery added in a transaction that is rolled back leaves nothing behind, and the trigger still keeps its newest `keep`', () => {
    const { db, deliveries } = repository();
    for (let n = 1; n <= 3; n += 1) deliveries.add(delivery('trg_a', n), 3);
    expect(() =>
      db.transaction(() => {
        deliveries.add(delivery('trg_a', 4), 3);
        throw new Error('the batch failed');
      })(),
    ).toThrow('the batch failed');
    expect(numbers(deliveries.page('trg_a', Number.MAX_SAFE_INTEGER, 10).items)).toEqual([3, 2, 1]);
    deliveries.add(delivery('trg_a', 5), 3);
    expect(numbers(deliveries.page('trg_a', Number.MAX_SAFE_INTEGER, 10).items)).toEqual([5, 3, 2]);
  });
});
