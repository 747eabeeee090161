import path from 'node:path';
import type { BackendChecklist } from '../../common/backends.js';
import { BackendLocator } from '../backends/locator.js';
import { BackendHealth } from '../backends/backend-health.js';
import { backendPathOverrides, resolveConfig } from '../config/config.js';
import { openDatabase } from '../storage/database.js';
import { SettingsRepository } from '../storage/settings-repository.js';

function storedSettings(dataDir: string): Record<string, string> {
  const db = openDatabase({ file: path.join(dataDir, 'agented.db') });
  try {
    return new SettingsRepository(db).all();
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
  const config = resolveConfig({ env: process.env, stored: storedSettings(bootstrap.dataDir) });
  const checklist = await new BackendHealth({ env: process.env, locator: new BackendLocator({ env: process.env, overrides: backendPathOverrides(config) }) }).checklist();
  process.stdout.write(`${options.json ? JSON.stringify(checklist) : formatChecklist(checklist)}\n`);
  return checklist.items.some((item) => item.usable) ? 0 : 1;
}
