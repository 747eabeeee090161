import type Database from 'better-sqlite3';
import type { ExecutionRepository } from '../../main/storage/execution-repository.js';
import type { MountedApp } from './mount-app.js';

/**
 * Writes a finished execution straight into the worker's SQLite file, through the
 * repository on a second connection, in one transaction: the worker's queue never
 * sees it queued, and its list shows it at `createdAt`.
 */
export function plantFinished(db: Database.Database, executions: ExecutionRepository): (id: string, triggerId: string, createdAt: string) => void {
  const finish = db.prepare<[string, string, string]>("UPDATE executions SET state = 'succeeded', started_at = ?, ended_at = ? WHERE id = ?");
  return db.transaction((id: string, triggerId: string, createdAt: string) => {
    executions.insert({ id, triggerId, source: 'manual', state: 'queued', reason: null, backend: 'claude', model: null, params: {}, prompt: 'hello', promptContext: [], concurrencyKey: null, deliveryId: null, replayOf: null, createdAt });
    finish.run(createdAt, createdAt, id);
  });
}

/** `count` ids `<prefix>01`, `<prefix>02`…, in that order. */
export const named = (prefix: string, count: number) => Array.from({ length: count }, (_value, index) => `${prefix}${String(index + 1).padStart(2, '0')}`);

/** The ids of the executions the list shows, top to bottom. */
export const shownExecutions = (app: MountedApp) => app.wrapper.findAll('[data-testid="execution-table"] tbody tr').map((row) => row.attributes('data-testid')!.replace('execution-row-', ''));
