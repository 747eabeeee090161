import type { Migration } from './migration.js';

/**
 * The part of an execution's cost that is the price table's estimate. An
 * execution whose attempts mix a reported cost and an estimate (a fallback
 * CLI that reports its cost after one that does not) was counted whole as
 * estimated by budgets and the usage report. Rows from before hold no parts:
 * an estimated one counts whole, as it did.
 */
export const migration0018: Migration = {
  version: 18,
  name: 'executions_estimated_usd',
  up: (db) => {
    db.exec(`
      ALTER TABLE executions ADD COLUMN estimated_usd REAL;
      UPDATE executions SET estimated_usd = cost_usd WHERE cost_estimated = 1;
    `);
  },
};
