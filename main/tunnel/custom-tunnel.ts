import { joinUrl, TunnelConfigurationError, type Tunnel, type TunnelAddress } from './tunnel-provider.js';

/**
 * A tunnel or reverse proxy the user runs (cloudflared, nginx …): Agented
 * neither starts nor checks it, and only shows its URL in the webhook setup.
 */
export class CustomTunnel implements Tunnel {
  constructor(private readonly publicUrl: string | undefined) {}

  start(): Promise<TunnelAddress> {
    if (this.publicUrl === undefined) {
      return Promise.reject(new TunnelConfigurationError('no public URL: PUT /api/tunnel {"provider":"custom","publicUrl":"https://…"} or set AGENTED_TUNNEL_PUBLIC_URL'));
    }
    return Promise.resolve({ publicUrl: this.publicUrl, webhookUrlTemplate: joinUrl(this.publicUrl, '{webhookPath}') });
  }

  dispose(): void {}
}
