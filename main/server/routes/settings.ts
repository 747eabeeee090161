import { SettingsView, StoredSettingsPatch } from '../../../common/api.js';
import { ErrorBody } from '../../../common/errors.js';
import { parseSetting, resolveConfig, settingDefinitions, settingSource, type Config, type SettingName } from '../../config/config.js';
import type { AuditRepository } from '../../storage/audit-repository.js';
import type { SettingsRepository } from '../../storage/settings-repository.js';
import { ApiError } from '../errors.js';
import { defineRoute, type Route } from '../route.js';

export interface SettingsDependencies {
  /** The configuration the running worker was built with. */
  config: Config;
  env: Readonly<Record<string, string | undefined>>;
  settings: SettingsRepository;
  /** Where administrative changes are recorded; optional for apps built without the audit log. */
  audit?: AuditRepository;
  /** Settings applied while the worker runs (the tunnel's): their value in use comes from here, not from `config`. */
  live?: () => Partial<Record<SettingName, unknown>>;
  /** Told after PATCH stored settings, for those applied at once (start at login). */
  stored?: (names: SettingName[]) => void;
}

/** Settings are stored as the same strings an environment variable would hold (a list comma-separated, the price table as JSON), and parsed by the same code. */
function toStoredString(value: unknown): string {
  if (Array.isArray(value)) return value.join(',');
  return typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value);
}

function view(deps: SettingsDependencies): SettingsView {
  const stored = deps.settings.all() as Partial<Record<SettingName, string>>;
  const result: SettingsView['settings'] = {};
  const live = deps.live?.() ?? {};
  // What the worker would resolve if it restarted now: a stored value removed with null needs a restart too, to give way to the default.
  const onRestart = resolveConfig({ env: deps.env, stored });
  for (const [name, definition] of Object.entries(settingDefinitions) as [SettingName, (typeof settingDefinitions)[SettingName]][]) {
    if (name === 'apiKey') continue;
    const running = name in live ? live[name] : deps.config[name];
    result[name] = {
      value: running,
      source: settingSource(name, { env: deps.env, stored }),
      env: definition.env,
      editable: definition.stored,
      restartRequired: !(name in live) && JSON.stringify(onRestart[name]) !== JSON.stringify(running),
    };
  }
  return { settings: result };
}

export function settingsRoutes(deps: SettingsDependencies): Route[] {
  return [
    defineRoute({
      method: 'get',
      path: '/api/settings',
      auth: 'key',
      tag: 'settings',
      summary: 'Every setting with the value in use, where it came from, and its environment variable.',
      responses: { 200: { description: 'Settings', schema: SettingsView }, 401: { description: 'No valid key', schema: ErrorBody } },
      handler: () => view(deps),
    }),
    defineRoute<Record<string, never>, Record<string, never>, StoredSettingsPatch>({
      method: 'patch',
      path: '/api/settings',
      auth: 'key',
      tag: 'settings',
      summary: 'Stores settings in the database. Most apply when the worker restarts (those that apply at once say so); environment variables still win.',
      body: StoredSettingsPatch,
      responses: {
        200: { description: 'Stored; the settings as they are now', schema: SettingsView },
        400: { description: 'A value is invalid; nothing was stored', schema: ErrorBody },
        401: { description: 'No valid key', schema: ErrorBody },
      },
      handler: ({ body, log, req }) => {
        const entries = Object.entries(body) as [SettingName, unknown][];
        const issues = entries.flatMap(([name, value]) => {
          if (value === null) return [];
          const parsed = parseSetting(name, toStoredString(value));
          return parsed.ok ? [] : [{ path: `body.${name}`, message: parsed.message }];
        });
        if (issues.length > 0) throw new ApiError('ERR_VALIDATION', undefined, issues);
        // What each field stores; null removes the stored value (the default, or the environment's, applies again).
        const writes = entries.map(([name, value]) => [name, value === null ? null : toStoredString(value)] as const);
        // The Settings page saves a whole section: values already stored are no change to record.
        const stored = deps.settings.all();
        const changes = writes.filter(([name, value]) => (stored[name] ?? null) !== value);
        if (changes.length === 0) return view(deps);
        deps.settings.setMany(changes);
        const names = changes.map(([name]) => name);
        log.info('settings stored', { settings: names });
        deps.stored?.(names);
        const changed = new Set<string>(names);
        deps.audit?.record({ action: 'settings.updated', actor: req.auth?.method ?? 'unknown', requestId: req.requestId, targetId: null, detail: { settings: Object.fromEntries(entries.filter(([name]) => changed.has(name))) } });
        return view(deps);
      },
    }),
  ];
}
