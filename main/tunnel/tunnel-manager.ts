import { TunnelProvider, type RelayedFailure, type TunnelStatus, type TunnelUpdate, type TunnelView } from '../../common/tunnel.js';
import { resolveConfig, settingDefinitions, settingSource, type Config, type SettingName } from '../config/config.js';
import type { Disposable } from '../lifecycle/disposables.js';
import type { SecretStore } from '../secrets/keychain.js';
import { ApiError } from '../server/errors.js';
import type { AuditRepository } from '../storage/audit-repository.js';
import type { SettingsRepository } from '../storage/settings-repository.js';
import type { Logger } from '../telemetry/logger.js';
import { CustomTunnel } from './custom-tunnel.js';
import { NGROK_AUTHTOKEN_NAME, NGROK_NO_AUTHTOKEN, NgrokTunnel } from './ngrok-tunnel.js';
import { SmeeTunnel } from './smee-tunnel.js';
import { TunnelConfigurationError, type Tunnel, type TunnelAddress, type TunnelEvents } from './tunnel-provider.js';
import { tunnelNotes } from './tunnel-notes.js';

/** The settings the tunnel reads; PUT /api/tunnel writes the stored ones and applies them at once. */
export const TUNNEL_SETTINGS = ['tunnel', 'smeeUrl', 'smeeServer', 'tunnelPublicUrl', 'ngrokDomain', 'ngrokServerAddr'] as const satisfies readonly SettingName[];
type TunnelSettingName = (typeof TUNNEL_SETTINGS)[number];
type TunnelSettings = Pick<Config, TunnelSettingName>;

/**
 * The provider that was in use when the tunnel was last turned off, so the
 * tray's "Turn tunnel on" brings it back. In the settings table beside (not
 * among) the AGENTED_* settings: it is a memory, not a choice to override.
 */
const LAST_PROVIDER_SETTING = 'tunnel.lastProvider';

export interface TunnelManagerOptions {
  env: Readonly<Record<string, string | undefined>>;
  settings: SettingsRepository;
  /** The keychain, or the sealed store when AGENTED_API_KEY bypasses it (as for trigger secrets). */
  secrets: SecretStore;
  audit: AuditRepository;
  logger: Logger;
  /** The worker's limit for a delivery's body (AGENTED_MAX_HOOK_BODY_BYTES), which the ngrok gate applies too. */
  maxHookBodyBytes: number;
  /** How long PUT /api/tunnel waits for the tunnel to come up before answering `starting`. */
  startWaitMs?: number;
  /** First pause before a failed tunnel is started again; doubles up to `retryMaxMs`. */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** How long a smee start waits for the relay's event stream to open. */
  connectTimeoutMs?: number;
}

/** A restart's outcome: the old tunnel is gone; `connected` settles with the new one's first attempt. */
interface Started {
  connected: Promise<void>;
}

interface Actor {
  actor: string;
  requestId: string | null;
}

/** Who changed the tunnel from the desktop tray, in the audit log. */
export const TRAY_ACTOR: Actor = { actor: 'tray', requestId: null };

/**
 * Runs the tunnel chosen in the settings, inside the worker (so headless
 * `agented serve` has it too): starts it once the worker listens, restarts it
 * when PUT /api/tunnel changes it or when it fails (with growing pauses), and
 * reports its state for GET /api/tunnel. One change at a time: every start
 * and stop runs through one queue.
 */
export class TunnelManager implements Disposable {
  private workerUrl: string | undefined;
  private tunnel: Tunnel | undefined;
  /** Counts starts: events of a tunnel that has since been replaced are ignored. */
  private generation = 0;
  /** Ends the wait for the running tunnel's first connection: a change that replaced it waits no longer. */
  private endWait: () => void = () => undefined;
  private provider: TunnelProvider = 'off';
  private status: TunnelStatus = 'off';
  private since: string | null = null;
  private address: TunnelAddress | undefined;
  private error: string | null = null;
  private lastRelayedFailure: RelayedFailure | null = null;
  private authtokenStored = false;
  private failures = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private disposed = false;
  private readonly listeners = new Set<(view: TunnelView) => void>();
  constructor(private readonly options: TunnelManagerOptions) {}

  /** The tunnel settings in use (environment > stored > default), for GET /api/settings. */
  liveSettings(): Partial<Record<SettingName, unknown>> {
    return { ...this.current() };
  }

  /** Starts the configured tunnel, now that the worker listens at `workerUrl`. Never throws: failures show in the view. */
  async start(workerUrl: string): Promise<void> {
    this.workerUrl = workerUrl;
    this.authtokenStored = await this.readAuthtokenStored();
    await this.waitForStart(this.enqueue(() => this.restart()));
  }

  /** Called after every change of state or settings (more often than what a listener shows changes: compare). */
  onChange(listener: (view: TunnelView) => void): Disposable {
    this.listeners.add(listener);
    return { dispose: () => void this.listeners.delete(listener) };
  }

  view(): TunnelView {
    const settings = this.current();
    return {
      provider: this.provider,
      status: this.status,
      since: this.since,
      publicUrl: this.address?.publicUrl ?? (this.provider === 'custom' ? (settings.tunnelPublicUrl ?? null) : this.provider === 'smee' ? (settings.smeeUrl ?? null) : null),
      // Known once the tunnel came up, and kept while it reconnects: the URL configured in GitHub does not change.
      webhookUrlTemplate: this.address?.webhookUrlTemplate ?? null,
      error: this.error,
      notes: tunnelNotes(this.provider),
      lastRelayedFailure: this.lastRelayedFailure,
      settings: {
        smeeUrl: settings.smeeUrl ?? null,
        smeeServer: settings.smeeServer,
        publicUrl: settings.tunnelPublicUrl ?? null,
        ngrokDomain: settings.ngrokDomain ?? null,
        ngrokAuthtokenStored: this.authtokenStored,
      },
      fixedByEnvironment: TUNNEL_SETTINGS.filter((name) => this.fromEnvironment(name)).map((name) => settingDefinitions[name].env),
    };
  }

  /** Stores the choice, records it in the audit log, and restarts the tunnel with it. */
  async update(update: TunnelUpdate, actor: Actor): Promise<TunnelView> {
    const changes = this.settingChanges(update);
    this.refuseEnvironmentConflicts(update.provider, changes);
    if (update.provider === 'ngrok') {
      if (update.authtoken !== undefined) {
        this.options.logger.redactor.addSecret(update.authtoken);
        await this.options.secrets.set(NGROK_AUTHTOKEN_NAME, update.authtoken);
        this.authtokenStored = true;
      } else if (!(await this.readAuthtokenStored())) {
        throw new ApiError('ERR_VALIDATION', undefined, [{ path: 'body.authtoken', message: NGROK_NO_AUTHTOKEN }]);
      }
    }
    for (const [name, value] of changes) if (value === null) this.options.settings.delete(name);
    const detail: Record<string, unknown> = { tunnel: Object.fromEntries(changes) };
    if (update.provider === 'ngrok' && update.authtoken !== undefined) detail.ngrokAuthtoken = 'replaced';
    return this.apply(changes.filter((change): change is [TunnelSettingName, string] => change[1] !== null), detail, actor);
  }

  /**
   * The tray's switch. Off is `PUT {"provider":"off"}`; on brings back the
   * provider that was in use when the tunnel was last turned off (either way),
   * with the settings it kept, or smee (free, no account) when there never was
   * one. Stored like any choice, so it holds across restarts; refused when
   * AGENTED_TUNNEL sets the provider, as a PUT is.
   */
  async switchTo(on: boolean, actor: Actor): Promise<TunnelView> {
    const provider = on ? this.providerToResume() : 'off';
    if ((this.current().tunnel !== 'off') === on) return this.view();
    this.refuseEnvironmentConflicts(provider, [['tunnel', provider]]);
    if (provider === 'ngrok' && !(await this.readAuthtokenStored())) {
      throw new ApiError('ERR_VALIDATION', undefined, [{ path: 'body.authtoken', message: NGROK_NO_AUTHTOKEN }]);
    }
    return this.apply([['tunnel', provider]], { tunnel: { tunnel: provider } }, actor);
  }

  /** Stores the changes in one transaction (remembering a provider being turned off), audits them, and restarts the tunnel. */
  private async apply(changes: readonly [TunnelSettingName, string][], detail: Record<string, unknown>, actor: Actor): Promise<TunnelView> {
    const before = this.current().tunnel;
    const turningOff = changes.some(([name, value]) => name === 'tunnel' && value === 'off') && before !== 'off';
    this.options.settings.setMany(turningOff ? [...changes, [LAST_PROVIDER_SETTING, before]] : changes);
    this.options.audit.record({ action: 'settings.updated', actor: actor.actor, requestId: actor.requestId, targetId: null, detail });
    this.options.logger.info('tunnel settings stored', { provider: this.current().tunnel, settings: changes.map(([name]) => name), actor: actor.actor });
    // A change is a fresh start: the pause before a retry starts short again.
    this.failures = 0;
    if (this.workerUrl !== undefined) await this.waitForStart(this.enqueue(() => this.restart()));
    this.changed();
    return this.view();
  }

  private providerToResume(): Exclude<TunnelProvider, 'off'> {
    const last = TunnelProvider.safeParse(this.options.settings.all()[LAST_PROVIDER_SETTING]);
    return last.success && last.data !== 'off' ? last.data : 'smee';
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    clearTimeout(this.retryTimer);
    await this.enqueue(() => this.stop());
  }

  /** The stored values a PUT means: [setting, value or null to remove]. */
  private settingChanges(update: TunnelUpdate): [TunnelSettingName, string | null][] {
    const changes: [TunnelSettingName, string | null][] = [['tunnel', update.provider]];
    switch (update.provider) {
      case 'off':
        break;
      case 'smee': {
        if (update.server !== undefined) {
          changes.push(['smeeServer', update.server]);
          // A channel of another server would go on being used: forget it, so one is created where asked.
          const channel = this.current().smeeUrl;
          if (update.channelUrl === undefined && channel !== undefined && new URL(channel).origin !== new URL(update.server).origin) changes.push(['smeeUrl', null]);
        }
        if (update.channelUrl !== undefined) changes.push(['smeeUrl', update.channelUrl]);
        break;
      }
      case 'ngrok':
        if (update.domain !== undefined) changes.push(['ngrokDomain', update.domain]);
        break;
      case 'custom':
        changes.push(['tunnelPublicUrl', update.publicUrl]);
        break;
      default:
        return update satisfies never;
    }
    return changes;
  }

  /** The environment wins over stored settings; a PUT that it would silently override is refused. */
  private refuseEnvironmentConflicts(provider: TunnelProvider, changes: readonly [TunnelSettingName, string | null][]): void {
    const issues = changes
      .filter(([name, value]) => this.fromEnvironment(name) && value !== this.options.env[settingDefinitions[name].env])
      .map(([name]) => ({
        path: name === 'tunnel' ? 'body.provider' : `body.${name}`,
        message: `${settingDefinitions[name].env} is set in the environment, which wins over what is stored here; unset it to choose ${name === 'tunnel' ? `"${provider}"` : 'this'} in the app`,
      }));
    if (issues.length > 0) throw new ApiError('ERR_VALIDATION', undefined, issues);
  }

  private fromEnvironment(name: TunnelSettingName): boolean {
    return settingSource(name, { env: this.options.env }) === 'environment';
  }

  private current(): TunnelSettings {
    const config = resolveConfig({ env: this.options.env, stored: this.options.settings.all() });
    return Object.fromEntries(TUNNEL_SETTINGS.map((name) => [name, config[name]])) as TunnelSettings;
  }

  private async readAuthtokenStored(): Promise<boolean> {
    try {
      return (await this.options.secrets.get(NGROK_AUTHTOKEN_NAME)) !== null;
    } catch (error) {
      this.options.logger.warn('could not read the ngrok authtoken', { err: error });
      return false;
    }
  }

  private enqueue<T>(step: () => Promise<T>): Promise<T> {
    const result = this.queue.then(step);
    this.queue = result.catch(() => undefined);
    return result;
  }

  /** Waits for a start at most `startWaitMs`; a slower tunnel goes on starting and reports later. */
  private async waitForStart(started: Promise<Started>): Promise<void> {
    const { connected } = await started;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([connected, new Promise<void>((resolve) => (timer = setTimeout(resolve, this.options.startWaitMs ?? 10_000)))]);
    clearTimeout(timer);
  }

  private setStatus(status: TunnelStatus, error: string | null = null): void {
    if (status !== this.status || error !== this.error) this.since = new Date().toISOString();
    this.status = status;
    this.error = error === null ? null : this.options.logger.redactor.scrub(error);
    this.changed();
  }

  private changed(): void {
    if (this.listeners.size === 0 || this.disposed) return;
    const view = this.view();
    for (const listener of this.listeners) {
      try {
        listener(view);
      } catch (error) {
        this.options.logger.warn('a tunnel listener failed', { err: error });
      }
    }
  }

  private async stop(): Promise<void> {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.generation += 1;
    this.endWait();
    const tunnel = this.tunnel;
    this.tunnel = undefined;
    if (tunnel) await Promise.resolve(tunnel.dispose()).catch((error: unknown) => this.options.logger.warn('tunnel did not stop cleanly', { err: error }));
  }

  /**
   * Stops what runs and starts what the settings say. Resolves once the old
   * tunnel is gone, with the new one's first connection attempt (which goes
   * on outside the queue, so a slow relay never blocks a change).
   */
  private async restart(retrying = false): Promise<Started> {
    await this.stop();
    // A retry comes back at the address the tunnel had, the one configured in GitHub: it stays shown meanwhile.
    if (!retrying) this.address = undefined;
    if (this.disposed) return { connected: Promise.resolve() };
    const settings = this.current();
    if (settings.tunnel !== this.provider) this.lastRelayedFailure = null;
    this.provider = settings.tunnel;
    if (settings.tunnel === 'off') {
      this.failures = 0;
      this.setStatus('off');
      return { connected: Promise.resolve() };
    }
    const generation = this.generation;
    const tunnel = this.create(settings, generation);
    this.tunnel = tunnel;
    this.setStatus('starting');
    this.options.logger.info('tunnel starting', { provider: settings.tunnel });
    const connected = tunnel.start().then(
      (address) => {
        if (generation !== this.generation) return;
        this.address = address;
        this.failures = 0;
        this.setStatus('up');
        this.options.logger.info('tunnel up', { provider: settings.tunnel, public_url: address.publicUrl });
      },
      (error: unknown) => {
        if (generation !== this.generation) return;
        const message = error instanceof Error ? error.message : String(error);
        this.setStatus('error', message);
        this.discard(tunnel);
        if (error instanceof TunnelConfigurationError) {
          this.options.logger.warn('tunnel cannot start until its settings change', { provider: settings.tunnel, reason: message });
          return;
        }
        this.scheduleRetry(settings.tunnel, message);
      },
    );
    const replaced = new Promise<void>((resolve) => (this.endWait = resolve));
    return { connected: Promise.race([connected, replaced]) };
  }

  /** Closes a tunnel that failed (what it opened must not linger), unless it was replaced meanwhile. */
  private discard(tunnel: Tunnel): void {
    void this.enqueue(async () => {
      if (this.tunnel !== tunnel) return;
      this.tunnel = undefined;
      await Promise.resolve(tunnel.dispose()).catch((error: unknown) => this.options.logger.warn('tunnel did not stop cleanly', { err: error }));
    });
  }

  private scheduleRetry(provider: TunnelProvider, reason: string): void {
    if (this.disposed) return;
    const base = this.options.retryBaseMs ?? 5_000;
    const delay = Math.min(base * 2 ** this.failures, this.options.retryMaxMs ?? 300_000);
    this.failures += 1;
    this.options.logger.warn('tunnel failed; trying again later', { provider, reason, retry_in_ms: delay });
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.enqueue(() => this.restart(true));
    }, delay);
    this.retryTimer.unref();
  }

  private create(settings: TunnelSettings, generation: number): Tunnel {
    const current = () => generation === this.generation && !this.disposed;
    const events: TunnelEvents = {
      connection: (state, detail) => {
        if (!current()) return;
        if (state === 'up') {
          this.setStatus('up');
          this.options.logger.info('tunnel reconnected', { provider: settings.tunnel });
        } else {
          this.setStatus('error', detail ?? 'connection lost');
          this.options.logger.warn('tunnel connection lost', { provider: settings.tunnel, reason: detail });
        }
      },
      closed: (reason) => {
        if (!current()) return;
        this.setStatus('error', reason);
        if (this.tunnel) this.discard(this.tunnel);
        this.scheduleRetry(settings.tunnel, reason);
      },
      relayedFailure: (failure) => {
        if (!current()) return;
        this.lastRelayedFailure = { at: new Date().toISOString(), ...failure };
        this.changed();
      },
    };
    const { logger } = this.options;
    const workerUrl = this.workerUrl!;
    switch (settings.tunnel) {
      case 'smee':
        return new SmeeTunnel({
          channelUrl: settings.smeeUrl,
          server: settings.smeeServer,
          workerUrl,
          logger,
          events,
          connectTimeoutMs: this.options.connectTimeoutMs ?? 15_000,
          keepChannel: (url) => {
            if (!this.fromEnvironment('smeeUrl')) this.options.settings.set('smeeUrl', url);
          },
        });
      case 'ngrok':
        return new NgrokTunnel({
          secrets: this.options.secrets,
          domain: settings.ngrokDomain,
          serverAddr: settings.ngrokServerAddr,
          workerUrl,
          maxBodyBytes: this.options.maxHookBodyBytes,
          logger,
          events,
          registerSecret: (value) => logger.redactor.addSecret(value),
        });
      case 'custom':
        return new CustomTunnel(settings.tunnelPublicUrl);
      case 'off':
        throw new Error('no tunnel to create');
      default:
        return settings.tunnel satisfies never;
    }
  }
}
