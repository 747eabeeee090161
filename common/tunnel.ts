import { z } from 'zod';

/**
 * How GitHub (or any sender) reaches a laptop: a public relay or tunnel that
 * forwards webhook deliveries to the local `/hooks/*`, and nothing else.
 * See docs/tunnels.md.
 */
export const TunnelProvider = z.enum(['off', 'smee', 'ngrok', 'custom']);
export type TunnelProvider = z.infer<typeof TunnelProvider>;

export const TunnelStatus = z.enum(['off', 'starting', 'up', 'error']);
export type TunnelStatus = z.infer<typeof TunnelStatus>;

/** The placeholder in `webhookUrlTemplate` that a trigger's `webhookPath` replaces. */
export const WEBHOOK_PATH_PLACEHOLDER = '{webhookPath}';

const httpUrl = z
  .string()
  .max(2048)
  .refine((value) => {
    try {
      const url = new URL(value);
      return (url.protocol === 'https:' || url.protocol === 'http:') && url.hostname !== '' && url.username === '' && url.password === '';
    } catch {
      return false;
    }
  }, 'must be an http(s) URL without credentials');

const domainName = z
  .string()
  .max(253)
  .regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/i, 'a domain name such as example.ngrok-free.app');

export const RelayedFailure = z
  .object({
    at: z.string(),
    kind: z
      .enum(['signature-mismatch', 'path-refused', 'body-too-large'])
      .describe(
        'signature-mismatch: a relayed delivery failed its signature check; path-refused: the tunnel was asked for something other than POST /hooks/<trigger>; body-too-large: the worker refused a relayed delivery over its body limit (the sender saw the relay accept it).',
      ),
    provider: TunnelProvider,
    method: z.string(),
    path: z.string().describe('The local path the request asked for (cut at 200 characters).'),
    triggerId: z.string().nullable(),
    deliveryId: z.string().nullable().describe('X-GitHub-Delivery (or webhook-id) of the delivery, when it had one.'),
    explanation: z.string(),
  })
  .meta({ id: 'RelayedFailure' });
export type RelayedFailure = z.infer<typeof RelayedFailure>;

export const TunnelView = z
  .object({
    provider: TunnelProvider,
    status: TunnelStatus,
    since: z.string().nullable().describe('When the status last changed.'),
    publicUrl: z.string().nullable().describe('The public address: the smee channel, the ngrok URL, or the custom base URL.'),
    webhookUrlTemplate: z
      .string()
      .nullable()
      .describe(`A trigger's public webhook URL once ${WEBHOOK_PATH_PLACEHOLDER} is replaced by its webhookPath (smee carries the path in ?path=). Null until the tunnel has come up; kept while it reconnects (status error).`),
    error: z.string().nullable(),
    notes: z.array(z.string()).describe("What this provider can and cannot do (lost deliveries, signatures, who can see the traffic)."),
    lastRelayedFailure: RelayedFailure.nullable(),
    settings: z.object({
      smeeUrl: z.string().nullable().describe('The smee channel; created on first use and kept.'),
      smeeServer: z.string(),
      publicUrl: z.string().nullable().describe('The custom tunnel base URL.'),
      ngrokDomain: z.string().nullable(),
      ngrokAuthtokenStored: z.boolean().describe('Whether an ngrok authtoken is in the keychain (it is never returned).'),
    }),
    fixedByEnvironment: z.array(z.string()).describe('Environment variables that set tunnel settings; they win over PUT /api/tunnel.'),
  })
  .meta({ id: 'Tunnel' });
export type TunnelView = z.infer<typeof TunnelView>;

/**
 * The part of the tunnel the desktop shell shows (tray status, "Copy webhook
 * URL", the on/off item). The worker pushes it to its parent on every change:
 * the shell has no API key to ask GET /api/tunnel.
 */
export const TunnelSummary = TunnelView.pick({ provider: true, status: true, publicUrl: true, webhookUrlTemplate: true, error: true, fixedByEnvironment: true });
export type TunnelSummary = z.infer<typeof TunnelSummary>;

/** `PUT /api/tunnel`: the provider to use and its settings. The tunnel restarts at once. */
export const TunnelUpdate = z
  .discriminatedUnion('provider', [
    z.object({ provider: z.literal('off') }).strict(),
    z
      .object({
        provider: z.literal('smee'),
        channelUrl: httpUrl.nullable().optional().describe('A smee channel to use; null forgets the stored one so a new channel is created.'),
        server: httpUrl.optional().describe('Where new channels are created (GET /new); default https://smee.io. Changing it forgets a channel of another server.'),
      })
      .strict(),
    z
      .object({
        provider: z.literal('ngrok'),
        authtoken: z.string().trim().min(1).max(512).optional().describe('Stored in the keychain and never returned; needed once.'),
        domain: domainName.nullable().optional().describe('A domain reserved in the ngrok dashboard (one static domain is free), so the URL survives restarts; null for a random one.'),
      })
      .strict(),
    z.object({ provider: z.literal('custom'), publicUrl: httpUrl.describe('The public base URL of a tunnel or reverse proxy you run (cloudflared, nginx …).') }).strict(),
  ])
  .meta({ id: 'TunnelUpdate' });
export type TunnelUpdate = z.infer<typeof TunnelUpdate>;

/** A trigger's public webhook URL through the tunnel, or null when the tunnel is not up or the trigger takes no deliveries. */
export function publicWebhookUrl(tunnel: Pick<TunnelView, 'webhookUrlTemplate'>, webhookPath: string | null): string | null {
  if (tunnel.webhookUrlTemplate === null || webhookPath === null) return null;
  return tunnel.webhookUrlTemplate.replace(WEBHOOK_PATH_PLACEHOLDER, webhookPath);
}
