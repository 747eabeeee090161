import type Database from 'better-sqlite3';
import type { AccountEventKind, AccountStats } from '../../common/accounts.js';
import type { Backend } from '../../common/triggers.js';

export interface StoredAccount {
  id: string;
  backend: Backend;
  name: string;
  hasApiKey: boolean;
  configDir: string | null;
  priority: number;
  enabled: boolean;
  createdAt: string;
  updatedAt: string;
}

interface Row {
  id: string;
  backend: Backend;
  name: string;
  has_api_key: number;
  config_dir: string | null;
  priority: number;
  enabled: number;
  created_at: string;
  updated_at: string;
}

const fromRow = (row: Row): StoredAccount => ({
  id: row.id,
  backend: row.backend,
  name: row.name,
  hasApiKey: row.has_api_key === 1,
  configDir: row.config_dir,
  priority: row.priority,
  enabled: row.enabled === 1,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

/**
 * Who a cool-down or an account event belongs to: an account, or — when a
 * backend has no accounts — the credentials the environment gives it.
 */
export function credentialOf(backend: Backend, accountId: string | null): string {
  return accountId === null ? `env:${backend}` : `account:${accountId}`;
}

export interface Cooldown {
  credential: string;
  until: number;
  strikes: number;
  reason: string;
}

/** Accounts, their monitoring events and their cool-downs. */
export class AccountRepository {
  private readonly statements;

  constructor(private readonly db: Database.Database) {
    this.statements = {
      insert: db.prepare<[string, string, string, number, string | null, number, number, string, string]>(
        'INSERT INTO accounts (id, backend, name, has_api_key, config_dir, priority, enabled, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (backend, name) DO NOTHING',
      ),
      update: db.prepare<[string, number, string | null, number, number, string, string]>(
        'UPDATE accounts SET name = ?, has_api_key = ?, config_dir = ?, priority = ?, enabled = ?, updated_at = ? WHERE id = ?',
      ),
      remove: db.prepare<[string]>('DELETE FROM accounts WHERE id = ?'),
      one: db.prepare<[string], Row>('SELECT * FROM accounts WHERE id = ?'),
      all: db.prepare<[], Row>('SELECT * FROM accounts ORDER BY backend, priority, name'),
      byBackend: db.prepare<[Backend], Row>('SELECT * FROM accounts WHERE backend = ? ORDER BY priority, name'),
      event: db.prepare<[string, string, string, string | null, string | null, string | null]>(
        'INSERT INTO account_events (credential, at, kind, execution_id, reset_at, detail) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      cooldown: db.prepare<[string], Cooldown>('SELECT credential, until, strikes, reason FROM cooldowns WHERE credential = ?'),
      setCooldown: db.prepare<[string, number, number, string]>(
        'INSERT INTO cooldowns (credential, until, strikes, reason) VALUES (?, ?, ?, ?) ON CONFLICT (credential) DO UPDATE SET until = excluded.until, strikes = excluded.strikes, reason = excluded.reason',
      ),
      clearCooldown: db.prepare<[string]>('DELETE FROM cooldowns WHERE credential = ?'),
      coolingAnnounced: db.prepare<[Backend], unknown>('SELECT 1 FROM cooling_announced WHERE backend = ?'),
      announceCooling: db.prepare<[Backend]>('INSERT OR IGNORE INTO cooling_announced (backend) VALUES (?)'),
      forgetCooling: db.prepare<[Backend]>('DELETE FROM cooling_announced WHERE backend = ?'),
      stats: db.prepare<[string], { credential: string; requests: number; rate_limits: number; last_rate_limit: string | null }>(
        `SELECT credential,
                sum(kind = 'request') AS requests,
                sum(kind = 'rate_limit') AS rate_limits,
                max(CASE WHEN kind = 'rate_limit' THEN at END) AS last_rate_limit
           FROM account_events WHERE at >= ? GROUP BY credential`,
      ),
    };
  }

  /** False when the backend already has an account of that name. */
  insert(account: StoredAccount): boolean {
    return this.statements.insert.run(account.id, account.backend, account.name, account.hasApiKey ? 1 : 0, account.configDir, account.priority, account.enabled ? 1 : 0, account.createdAt, account.updatedAt).changes > 0;
  }

  update(account: StoredAccount): void {
    this.statements.update.run(account.name, account.hasApiKey ? 1 : 0, account.configDir, account.priority, account.enabled ? 1 : 0, account.updatedAt, account.id);
  }

  remove(id: string): boolean {
    return this.statements.remove.run(id).changes > 0;
  }

  get(id: string): StoredAccount | undefined {
    const row = this.statements.one.get(id);
    return row ? fromRow(row) : undefined;
  }

  all(): StoredAccount[] {
    return this.statements.all.all().map(fromRow);
  }

  /** A backend's accounts, in the order they are tried (priority, then name). */
  forBackend(backend: Backend): StoredAccount[] {
    return this.statements.byBackend.all(backend).map(fromRow);
  }

  recordEvent(credential: string, kind: AccountEventKind, at: string, details: { executionId?: string; resetAt?: string | null; detail?: string } = {}): void {
    this.statements.event.run(credential, at, kind, details.executionId ?? null, details.resetAt ?? null, details.detail ?? null);
  }

  cooldown(credential: string): Cooldown | undefined {
    return this.statements.cooldown.get(credential);
  }

  setCooldown(cooldown: Cooldown): void {
    this.statements.setCooldown.run(cooldown.credential, cooldown.until, cooldown.strikes, cooldown.reason);
  }

  /** Whether every account of the backend was said to be cooling down, in an episode no success has ended yet. */
  coolingAnnounced(backend: Backend): boolean {
    return this.statements.coolingAnnounced.get(backend) !== undefined;
  }

  setCoolingAnnounced(backend: Backend, announced: boolean): void {
    if (announced) this.statements.announceCooling.run(backend);
    else this.statements.forgetCooling.run(backend);
  }

  clearCooldown(credential: string): void {
    this.statements.clearCooldown.run(credential);
  }

  /** Requests and rate limits per credential since `from` (ISO 8601). */
  eventCounts(from: string): Map<string, Pick<AccountStats, 'requests' | 'rateLimits' | 'lastRateLimitAt'>> {
    return new Map(this.statements.stats.all(from).map((row) => [row.credential, { requests: row.requests, rateLimits: row.rate_limits, lastRateLimitAt: row.last_rate_limit }]));
  }
}
