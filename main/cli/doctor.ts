import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { BackendChecklist } from '../../common/backends.js';
import { BackendLocator } from '../backends/locator.js';
import { BackendHealth } from '../backends/backend-health.js';
import { backendPathOverrides, resolveConfig } from '../config/config.js';
import { EXIT_FAILURE } from './exit-codes.js';
import { DatabaseTooNewError, schemaVersion } from '../storage/database.js';
import { migrations } from '../storage/migrations/index.js';
import { SettingsRepository } from '../storage/settings-repository.js';

/**
 * The stored settings (the CLI paths among them), read and nothing else: no
 * data folder is made where there is no database, no migration runs on the
 * database of a server that may be running, and one from a newer Agented is
 * refused as `serve` refuses it.
 */
function storedSettings(dataDir: string): Record<string, string> {
  const file = path.join(dataDir, 'agented.db');
  if (!fs.existsSync(file)) return {};
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const found = schemaVersion(db);
    const supported = migrations.at(-1)?.version ?? 0;
    if (found > supported) throw new DatabaseTooNewError(file, found, supported);
    // The settings table comes with the first migration: a database without it stores none.
    return found === 0 ? {} : new SettingsRepository(db).all();
  } finally {
    db.close();
  }
}

export function formatChecklist(checklist: BackendChecklist): string {
  const lines = [`Agent CLIs (PATH from the ${checklist.pathSource === 'login-shell' ? 'login shell' : 'current process'}):`];
  for (const item of checklist.items) {
    const mark = item.usable ? 'ok ' : '-- ';
    const installed = item.installed ? `${item.version ?? 'unknown version'} at ${item.path}` : 'not installed';
    const auth = item.authenticated ? `authenticated (${item.authSource})` : 'not authenticated';
    lines.push(`  ${mark} ${item.name.padEnd(9)} ${installed}; ${auth}`);
    if (item.hint) lines.push(`       fix: ${item.hint}`);
  }
  const usable = checklist.items.filter((item) => item.usable).length;
  lines.push(usable > 0 ? `${usable} of ${checklist.items.length} usable.` : 'No agent CLI is usable: executions cannot run until one is.');
  return lines.join('\n');
}

/** `agented doctor [--json]`: the checklist of GET /api/backends, without a server. Non-zero when nothing is usable. */
export async function doctor(options: { json: boolean }): Promise<number> {
  const bootstrap = resolveConfig({ env: process.env });
  let stored: Record<string, string>;
  try {
    stored = storedSettings(bootstrap.dataDir);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code !== 'string' || !code.startsWith('SQLITE_')) throw error;
    // One line naming the setting, as `serve` reports the same database (main/worker/main.ts).
    process.stderr.write(`agented: AGENTED_DATA_DIR=${JSON.stringify(bootstrap.dataDir)} cannot be used: SQLite: ${(error as Error).message}\n`);
    return EXIT_FAILURE;
  }
  const config = resolveConfig({ env: process.env, stored });
  const health = new BackendHealth({ env: process.env, locator: new BackendLocator({ env: process.env, overrides: backendPathOverrides(config) }), versionTimeoutMs: config.versionTimeoutMs });
  // Each `--version` runs in a process group of its own, which a Ctrl-C sent to this command's group does not
  // reach: it would outlive the command (for ever, if it hangs). A signal ends them first, then the command.
  let interrupted: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    interrupted ??= signal;
    void health.dispose();
  };
  process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
  let checklist: BackendChecklist;
  try {
    checklist = await health.checklist();
    await health.dispose();
  } finally {
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
  }
  if (interrupted) return 128 + os.constants.signals[interrupted];
  process.stdout.write(`${options.json ? JSON.stringify(checklist) : formatChecklist(checklist)}\n`);
  return checklist.items.some((item) => item.usable) ? 0 : 1;
}
