import type { DesktopSettings } from '../../common/worker-protocol.js';
import { resolveConfig } from '../config/config.js';
import type { SettingsRepository } from '../storage/settings-repository.js';

type Env = Readonly<Record<string, string | undefined>>;

/**
 * The settings the desktop shell applies (start at login). The worker owns
 * the database they are stored in, so it reads them and tells its parent: at
 * start, and whenever PATCH /api/settings stores settings, since they apply at
 * once rather than on restart.
 */
export class DesktopSettingsPublisher {
  private last: string | undefined;

  constructor(
    private readonly deps: { env: Env; settings: SettingsRepository; publish: (settings: DesktopSettings) => void },
  ) {}

  /** The values in use now (environment > stored > default). */
  current(): DesktopSettings {
    return { startAtLogin: resolveConfig({ env: this.deps.env, stored: this.deps.settings.all() }).startAtLogin };
  }

  /** Tells the parent, unless it already has these values. */
  publish(): void {
    const settings = this.current();
    const key = JSON.stringify(settings);
    if (key === this.last) return;
    this.last = key;
    this.deps.publish(settings);
  }
}
