import { describe, expect, it } from 'vitest';
import { CredentialPool } from '../../main/accounts/credential-pool.js';
import { AccountRepository } from '../../main/storage/account-repository.js';
import { openDatabase } from '../../main/storage/database.js';
import { makeTempDir } from '../helpers/temp.js';

const MINUTE = 60_000;

/** The cool-downs of `count` rate limits in a row without a reset time, in minutes, with the given first backoff. */
function coolDowns(backoffBaseMs: number, count: number): number[] {
  const temp = makeTempDir();
  const db = openDatabase({ file: `${temp.dir}/agented.db` });
  try {
    const now = Date.parse('2026-12-07T09:00:00Z');
    const pool = new CredentialPool({ accounts: new AccountRepository(db), backoffBaseMs, now: () => now });
    return Array.from({ length: count }, () => (pool.rateLimited({ backend: 'claude', account: null }, null, 'rate limited').until - now) / MINUTE);
  } finally {
    db.close();
    temp.remove();
  }
}

describe('cool-down after a rate limit without a reset time (AGENTED_RATE_LIMIT_BACKOFF_S)', () => {
  it('doubles for each rate limit in a row, up to 30 minutes', () => {
    expect(coolDowns(MINUTE, 7)).toEqual([1, 2, 4, 8, 16, 30, 30]);
  });

  it('a first backoff set above 30 minutes is kept, not cut to 30 (it stops doubling)', () => {
    expect(coolDowns(120 * MINUTE, 3)).toEqual([120, 120, 120]);
  });
});

describe('every account of a backend cooling down is said once an episode', () => {
  it('also across a restart of the worker during the episode, and again once one got through in between', () => {
    const temp = makeTempDir();
    const db = openDatabase({ file: `${temp.dir}/agented.db` });
    try {
      const now = Date.parse('2026-12-07T09:00:00Z');
      const env = { backend: 'claude' as const, account: null };
      // Each pool is what a worker starts with, over the same data folder.
      const worker = () => new CredentialPool({ accounts: new AccountRepository(db), backoffBaseMs: MINUTE, now: () => now });
      expect(worker().rateLimited(env, null, 'rate limited').allCoolingNow).toBe(true);
      const restarted = worker();
      expect(restarted.rateLimited(env, null, 'rate limited').allCoolingNow).toBe(false);
      restarted.succeeded(env);
      expect(worker().rateLimited(env, null, 'rate limited').allCoolingNow).toBe(true);
    } finally {
      db.close();
      temp.remove();
    }
  });
});
