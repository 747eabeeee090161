import type { NotificationChannel, NotificationChannels, NotificationSettingsUpdate } from '../../common/notifications.js';
import type { SecretStore } from '../secrets/keychain.js';
import { ApiError } from '../server/errors.js';
import type { AuditRepository } from '../storage/audit-repository.js';
import type { SettingsRepository } from '../storage/settings-repository.js';
import type { Logger } from '../telemetry/logger.js';
import type { Actor } from '../triggers/trigger-service.js';

/** Names in the secret store (the OS keychain, or the sealed store when AGENTED_API_KEY bypasses it). */
export const SLACK_URL_SECRET = 'notifications:slack-url';
export const WEBHOOK_URL_SECRET = 'notifications:webhook-url';
export const WEBHOOK_SIGNING_SECRET = 'notifications:webhook-secret';
/** In the settings table, beside (not among) the AGENTED_* settings: it holds no secret and needs no environment override. */
const DESKTOP_SETTING = 'notifications.desktop';

/** Where notifications go now; the URLs and the signing secret live only here and in the secret store. */
export interface ChannelConfig {
  slackUrl: string | null;
  webhookUrl: string | null;
  webhookSecret: string | null;
  desktop: boolean;
}

export interface ChannelSettingsDependencies {
  secrets: SecretStore;
  settings: SettingsRepository;
  audit: AuditRepository;
  logger: Logger;
  /** A desktop shell (or the headless supervisor) receives desktop notifications from this worker. */
  desktopAvailable: boolean;
}

/**
 * The notification channels: a Slack incoming webhook, a generic webhook
 * (optionally signed), desktop notifications. Read once at start and kept in
 * memory, so raising a notification never waits for the keychain; changed
 * through PUT /api/notifications, which writes the store first and audits.
 */
export class NotificationChannelSettings {
  private current: ChannelConfig = { slackUrl: null, webhookUrl: null, webhookSecret: null, desktop: true };
  /** The update being applied: the next one waits for it. */
  private updating: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: ChannelSettingsDependencies) {}

  /** Reads the channels from the secret store; one that cannot be read stays unconfigured, and the log says why. */
  async load(): Promise<void> {
    const read = async (name: string): Promise<string | null> => {
      try {
        const value = await this.deps.secrets.get(name);
        if (value !== null) this.registerSecret(value);
        return value;
      } catch (error) {
        this.deps.logger.error('a notification channel could not be read from the secret store; it stays off until set again', { secret: name, err: error });
        return null;
      }
    };
    this.current = {
      slackUrl: await read(SLACK_URL_SECRET),
      webhookUrl: await read(WEBHOOK_URL_SECRET),
      webhookSecret: await read(WEBHOOK_SIGNING_SECRET),
      desktop: this.deps.settings.all()[DESKTOP_SETTING] !== 'off',
    };
  }

  get config(): Readonly<ChannelConfig> {
    return this.current;
  }

  /** The channels a notification raised now goes to. */
  enabled(): NotificationChannel[] {
    const channels: NotificationChannel[] = [];
    if (this.current.slackUrl !== null) channels.push('slack');
    if (this.current.webhookUrl !== null) channels.push('webhook');
    if (this.current.desktop && this.deps.desktopAvailable) channels.push('desktop');
    return channels;
  }

  view(): NotificationChannels {
    const { slackUrl, webhookUrl, webhookSecret, desktop } = this.current;
    return {
      slack: { configured: slackUrl !== null },
      webhook: { configured: webhookUrl !== null, host: webhookUrl === null ? null : new URL(webhookUrl).host, signed: webhookUrl !== null && webhookSecret !== null },
      desktop: { enabled: desktop, available: this.deps.desktopAvailable },
    };
  }

  /**
   * Applies a validated update, one at a time: each keychain write waits for
   * the OS, and an update begun meanwhile would start from the old channels
   * and undo this one, in memory and in the store.
   */
  update(update: NotificationSettingsUpdate, actor: Actor): Promise<void> {
    const applied = this.updating.then(() => this.apply(update, actor));
    this.updating = applied.catch(() => undefined);
    return applied;
  }

  /** Secrets to the store, the desktop switch to the settings table, then memory, then the audit log. */
  private async apply(update: NotificationSettingsUpdate, actor: Actor): Promise<void> {
    const next: ChannelConfig = { ...this.current };
    if (update.slackUrl !== undefined) next.slackUrl = update.slackUrl;
    if (update.webhookUrl !== undefined) next.webhookUrl = update.webhookUrl;
    // A secret belongs to its receiver: clearing the URL clears it too.
    if (update.webhookUrl === null) next.webhookSecret = null;
    if (update.webhookSecret !== undefined) next.webhookSecret = update.webhookSecret;
    if (update.desktop !== undefined) next.desktop = update.desktop;
    if (next.webhookUrl === null && next.webhookSecret !== null) {
      throw new ApiError('ERR_VALIDATION', 'A webhook secret needs a webhook URL.', [{ path: 'body.webhookSecret', message: 'set webhookUrl too' }]);
    }

    await this.store(SLACK_URL_SECRET, this.current.slackUrl, next.slackUrl);
    await this.store(WEBHOOK_URL_SECRET, this.current.webhookUrl, next.webhookUrl);
    await this.store(WEBHOOK_SIGNING_SECRET, this.current.webhookSecret, next.webhookSecret);
    if (next.desktop !== this.current.desktop) this.deps.settings.set(DESKTOP_SETTING, next.desktop ? 'on' : 'off');
    const before = this.current;
    this.current = next;

    // What changed, never the values of the secret ones.
    const change = (was: string | null, now: string | null) => (was === now ? undefined : now === null ? 'cleared' : 'set');
    const detail = Object.fromEntries(
      Object.entries({
        slackUrl: change(before.slackUrl, next.slackUrl),
        webhookUrl: change(before.webhookUrl, next.webhookUrl),
        webhookHost: next.webhookUrl !== before.webhookUrl && next.webhookUrl !== null ? new URL(next.webhookUrl).host : undefined,
        webhookSecret: change(before.webhookSecret, next.webhookSecret),
        desktop: before.desktop === next.desktop ? undefined : next.desktop,
      }).filter(([, value]) => value !== undefined),
    );
    if (Object.keys(detail).length === 0) return;
    this.deps.audit.record({ action: 'notifications.updated', ...actor, targetId: null, detail });
    this.deps.logger.info('notification channels changed', detail);
  }

  private async store(name: string, was: string | null, now: string | null): Promise<void> {
    if (was === now) return;
    if (now === null) {
      await this.deps.secrets.delete(name);
      return;
    }
    this.registerSecret(now);
    await this.deps.secrets.set(name, now);
  }

  /**
   * The whole value is masked in every log line; so are a URL's path and
   * query and its long path segments, where incoming-webhook URLs keep their
   * token (short, common paths such as /hook are left readable).
   */
  private registerSecret(value: string): void {
    const { redactor } = this.deps.logger;
    redactor.addSecret(value);
    if (!URL.canParse(value)) return;
    const url = new URL(value);
    const parts = [`${url.pathname}${url.search}`, ...url.pathname.split('/'), url.search];
    for (const part of parts) if (part.length >= 16) redactor.addSecret(part);
  }
}
