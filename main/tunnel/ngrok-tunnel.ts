import type { Listener } from '@ngrok/ngrok';
import type { SecretStore } from '../secrets/keychain.js';
import type { Logger } from '../telemetry/logger.js';
import { HookGate } from './hook-gate.js';
import { TunnelConfigurationError, type Tunnel, type TunnelAddress, type TunnelEvents } from './tunnel-provider.js';

/** The keychain entry (or sealed-store entry) holding the ngrok authtoken. */
export const NGROK_AUTHTOKEN_NAME = 'ngrok-authtoken';

export const NGROK_NO_AUTHTOKEN =
  'no ngrok authtoken is stored: send it once with PUT /api/tunnel {"provider":"ngrok","authtoken":"…"} (find it at https://dashboard.ngrok.com/get-started/your-authtoken)';

export interface NgrokTunnelOptions {
  secrets: SecretStore;
  /** A reserved domain, so the URL survives restarts. */
  domain: string | undefined;
  /** ngrok's server_addr (a custom agent ingress); undefined dials ngrok's own servers. */
  serverAddr: string | undefined;
  workerUrl: string;
  /** The worker's limit for a delivery's body, which the HookGate applies before passing it on. */
  maxBodyBytes: number;
  logger: Logger;
  events: TunnelEvents;
  /** Registers the authtoken with the log redactor. */
  registerSecret(value: string): void;
}

/**
 * ngrok, in process (`@ngrok/ngrok`): raw HTTP is forwarded unchanged, so
 * signatures verify. ngrok forwards every path, so its upstream is a HookGate
 * that lets only `POST /hooks/<trigger>` through; the gate also rewrites Host,
 * which would otherwise be the ngrok domain and fail the worker's allowlist.
 */
export class NgrokTunnel implements Tunnel {
  private gate: HookGate | undefined;
  private listener: Listener | undefined;
  private disposed = false;
  private authtoken: string | undefined;

  constructor(private readonly options: NgrokTunnelOptions) {}

  async start(): Promise<TunnelAddress> {
    const { logger, events } = this.options;
    const authtoken = await this.options.secrets.get(NGROK_AUTHTOKEN_NAME);
    if (!authtoken) throw new TunnelConfigurationError(NGROK_NO_AUTHTOKEN);
    this.authtoken = authtoken;
    this.options.registerSecret(authtoken);
    this.ensureRunning();
    this.gate = await HookGate.start({
      provider: 'ngrok',
      target: this.options.workerUrl,
      maxBodyBytes: this.options.maxBodyBytes,
      logger,
      // ngrok forwards the bytes unchanged: a signature failure there is the sender's or the secret's, and the inspector shows it.
      onRefused: (request, reason) => events.relayedFailure({ kind: 'path-refused', provider: 'ngrok', ...request, explanation: `Refused: ${reason}. Only POST /hooks/<trigger> is forwarded.` }),
    });
    // Loaded on first use: the worker starts without the native binary unless ngrok is chosen.
    const ngrok = (await import('@ngrok/ngrok')).default;
    await this.closeIfStopped();
    let listener: Listener;
    try {
      listener = await ngrok.forward({
        addr: this.gate.address,
        authtoken,
        proto: 'http',
        forwards_to: 'Agented webhooks (/hooks/*)',
        ...(this.options.domain ? { domain: this.options.domain } : {}),
        ...(this.options.serverAddr ? { server_addr: this.options.serverAddr } : {}),
        onLogEvent: (line: string) => logger.debug(`ngrok: ${line}`),
        onStatusChange: (status: string) => {
          if (this.disposed) return;
          if (status === 'connected') events.connection('up');
          else events.connection('error', 'connection to ngrok lost; reconnecting');
        },
      });
    } catch (error) {
      throw new Error(`ngrok: ${this.scrub(error instanceof Error ? error.message : String(error))}`, { cause: error });
    }
    this.listener = listener;
    await this.closeIfStopped();
    const url = listener.url();
    if (!url) throw new Error('ngrok: the listener has no URL');
    return { publicUrl: url, webhookUrlTemplate: `${url.replace(/\/+$/, '')}{webhookPath}` };
  }

  /** ngrok echoes a malformed authtoken in some of its errors: never pass it on. */
  private scrub(message: string): string {
    return this.authtoken ? message.split(this.authtoken).join('[REDACTED]') : message;
  }

  /** Stopped while starting: what was opened meanwhile is closed, and the start ends. */
  private async closeIfStopped(): Promise<void> {
    if (!this.disposed) return;
    await this.dispose();
    this.ensureRunning();
  }

  private ensureRunning(): void {
    if (this.disposed) throw new Error('the tunnel was stopped while starting');
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    const listener = this.listener;
    this.listener = undefined;
    if (listener) {
      await listener.close().catch((error: unknown) => this.options.logger.warn('ngrok listener did not close cleanly', { err: error }));
    }
    const gate = this.gate;
    this.gate = undefined;
    await gate?.dispose();
  }
}
