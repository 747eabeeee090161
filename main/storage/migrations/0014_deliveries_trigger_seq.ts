import type { Migration } from './migration.js';

/**
 * A trigger's deliveries numbered among themselves (`trigger_seq`, 1, 2, 3 …
 * with no gaps), and the inspector's index on that number. The inspector
 * keeps only a trigger's newest deliveries: a new one used to be inserted
 * and the oldest deleted, which freed a page and took another every time.
 * Now, once a trigger holds as many as are kept, the new delivery is
 * written over the oldest one's row and takes the next number (see
 * DeliveryRepository.add). The numbers of the rows already here follow
 * their order of arrival. Numbering them rewrites each row once, bodies
 * included: the table holds only what the inspector keeps (50 a trigger by
 * default), so this is usually quick.
 */
export const migration0014: Migration = {
  version: 14,
  name: 'deliveries_trigger_seq',
  up: (db) => {
    db.exec(`
      ALTER TABLE deliveries ADD COLUMN trigger_seq INTEGER NOT NULL DEFAULT 0;
      UPDATE deliveries SET trigger_seq = numbered.n
        FROM (SELECT seq, row_number() OVER (PARTITION BY trigger_id ORDER BY seq) AS n FROM deliveries) AS numbered
        WHERE deliveries.seq = numbered.seq;
      DROP INDEX deliveries_by_trigger;
      CREATE INDEX deliveries_by_trigger ON deliveries (trigger_id, trigger_seq);
    `);
  },
};
