import type * as SmeeModule from 'smee-client';
import type { SmeeClient } from 'smee-client';
import type { Logger } from '../telemetry/logger.js';
import { describeRelayed, forwardableHeaders, postToWorker, refusalReason } from './hook-forwarding.js';
import { joinUrl, type Tunnel, type TunnelAddress, type TunnelEvents } from './tunnel-provider.js';

/** Said when a relayed delivery fails its signature check (see docs/tunnels.md). */
const SMEE_TOO_LARGE_EXPLANATION =
  'The worker refused the delivery: its body is larger than AGENTED_MAX_HOOK_BODY_BYTES. The sender saw the relay accept it, and nothing was stored; raise the limit (up to 64 MiB) if such deliveries are expected.';

export const SMEE_SIGNATURE_EXPLANATION =
  "The relay re-serialised the JSON body; GitHub's signature no longer matches — use ngrok or a custom tunnel for signed webhooks. " +
  '(smee.io parses each delivery and sends it on as parsed JSON, so whitespace and escaped characters such as \\u003c are lost. ' +
  'A wrong secret gives the same error: the delivery inspector shows the reason.)';

export interface SmeeTunnelOptions {
  /** The stored channel; undefined creates one at `server`. */
  channelUrl: string | undefined;
  /** Base URL of the smee server whose `/new` creates channels (https://smee.io). */
  server: string;
  /** The worker's own URL. */
  workerUrl: string;
  logger: Logger;
  events: TunnelEvents;
  /** Keeps a created channel, so webhooks configured in GitHub still work after a restart. */
  keepChannel(url: string): void;
  connectTimeoutMs: number;
}

/** One event of a smee channel: the sender's headers as keys, plus the parsed body and query (smee.io's format). */
interface SmeeEvent {
  body?: unknown;
  query?: Record<string, unknown>;
  timestamp?: unknown;
  [header: string]: unknown;
}

/**
 * smee.io: a free public relay. A sender posts to the channel URL; smee.io
 * parses the JSON body and pushes {headers…, body, query, timestamp} over a
 * server-sent event stream. smee-client creates the channel and holds the
 * stream (reconnecting, through the environment's HTTP proxy); its own
 * forwarding is off, because it passes hop-by-hop headers on and then fails
 * (probot/smee-client#431) and cannot choose a path per delivery. Here each
 * event becomes a POST to the worker's `/hooks/<trigger>`, the trigger named
 * by the relayed `?path=` (a channel URL has no room for a path); the body is
 * `JSON.stringify` of what smee.io parsed, as smee-client would send it.
 */
export class SmeeTunnel implements Tunnel {
  private client: SmeeClient | undefined;
  private disposed = false;

  constructor(private readonly options: SmeeTunnelOptions) {}

  async start(): Promise<TunnelAddress> {
    const { logger, events } = this.options;
    const channel = this.options.channelUrl ?? (await this.createChannel());
    this.ensureRunning();
    // smee-client logs every reconnect attempt; state changes are logged by the manager instead.
    const quiet = { info: (...args: unknown[]) => logger.debug(`smee-client: ${args.map(String).join(' ')}`), error: (...args: unknown[]) => logger.debug(`smee-client: ${args.map(String).join(' ')}`) };
    const { SmeeClient } = await loadSmeeClient();
    this.ensureRunning();
    const client = new SmeeClient({ source: channel, target: this.options.workerUrl, logger: quiet, forward: false });
    this.client = client;
    let source: Awaited<ReturnType<SmeeClient['start']>>;
    // The wait is timed here, not by smee-client's maxConnectionTimeout: its timer outlives the start, and a
    // stream that is reconnecting when it fires is closed for good, without an event, so it never comes back.
    const { connectTimeoutMs } = this.options;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`no connection after ${connectTimeoutMs} ms`)), connectTimeoutMs);
    });
    try {
      source = await Promise.race([client.start(), timedOut]);
    } catch (error) {
      await client.stop().catch(() => undefined);
      throw new Error(`could not connect to the smee channel ${channel}: ${describe(error)}`, { cause: error });
    } finally {
      clearTimeout(timer);
    }
    if (this.disposed) {
      await this.dispose();
      this.ensureRunning();
    }
    source.addEventListener('message', (message) => {
      if (!this.disposed) void this.relay(message.data);
    });
    let lost = false;
    source.addEventListener('error', (event) => {
      if (this.disposed) return;
      // The stream reconnects by itself after a network error; an HTTP error (the channel was removed or blocked) ends it.
      if (source.readyState === source.CLOSED) {
        events.closed(`the smee channel closed the connection: ${describe(event)}`);
      } else if (!lost) {
        lost = true;
        events.connection('error', `connection to ${channel} lost (${describe(event)}); reconnecting`);
      }
    });
    source.addEventListener('open', () => {
      if (this.disposed || !lost) return;
      lost = false;
      events.connection('up');
    });
    return { publicUrl: channel, webhookUrlTemplate: `${channel}?path={webhookPath}` };
  }

  /** One relayed delivery: checked, then posted to the worker, whose verdict is inspected. */
  private async relay(data: string): Promise<void> {
    const { logger, events } = this.options;
    let event: SmeeEvent;
    try {
      event = JSON.parse(data) as SmeeEvent;
      if (event === null || typeof event !== 'object') throw new Error('not an object');
    } catch {
      logger.warn('smee event is not JSON; ignored');
      return;
    }
    const { body, query, timestamp: _timestamp, ...headers } = event;
    const asked = query?.path;
    const path = typeof asked === 'string' ? asked : '';
    const relayed = describeRelayed('POST', path, headers);
    const refusal = typeof asked !== 'string' ? 'no ?path= names the trigger (use the webhook URL Agented shows)' : refusalReason('POST', path);
    if (refusal !== null) {
      logger.warn('tunnel request refused', { provider: 'smee', method: 'POST', path: relayed.path, reason: refusal });
      events.relayedFailure({ kind: 'path-refused', provider: 'smee', ...relayed, explanation: `Refused: ${refusal}. Only POST /hooks/<trigger> is forwarded.` });
      return;
    }
    try {
      const answer = await postToWorker(new URL(this.options.workerUrl), path, { ...forwardableHeaders(headers), 'content-type': 'application/json' }, Buffer.from(JSON.stringify(body ?? null)));
      logger.debug('smee delivery relayed', { path, status: answer.status });
      if (answer.status === 401 && answer.errorCode === 'ERR_SIGNATURE_INVALID') {
        logger.warn('relayed delivery failed its signature check', { provider: 'smee', path, delivery_id: relayed.deliveryId, explanation: SMEE_SIGNATURE_EXPLANATION });
        events.relayedFailure({ kind: 'signature-mismatch', provider: 'smee', ...relayed, explanation: SMEE_SIGNATURE_EXPLANATION });
      } else if (answer.status === 413) {
        // The sender saw the relay's 200: this is the only place the refusal shows.
        logger.warn('relayed delivery refused as too large', { provider: 'smee', path, delivery_id: relayed.deliveryId });
        events.relayedFailure({ kind: 'body-too-large', provider: 'smee', ...relayed, explanation: SMEE_TOO_LARGE_EXPLANATION });
      }
    } catch (error) {
      logger.warn('smee delivery could not be passed to the worker', { path, err: error });
    }
  }

  private async createChannel(): Promise<string> {
    const newChannelUrl = joinUrl(this.options.server, '/new');
    let location: string;
    try {
      const { SmeeClient } = await loadSmeeClient();
      location = await SmeeClient.createChannel({ newChannelUrl });
    } catch (error) {
      throw new Error(`could not create a smee channel at ${newChannelUrl}: ${describe(error)}`, { cause: error });
    }
    const channel = new URL(location, newChannelUrl).href;
    this.options.logger.info('smee channel created', { channel });
    // Stopped meanwhile (the settings changed): keeping it would replace the channel chosen since.
    this.ensureRunning();
    this.options.keepChannel(channel);
    return channel;
  }

  private ensureRunning(): void {
    if (this.disposed) throw new Error('the tunnel was stopped while starting');
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    const client = this.client;
    this.client = undefined;
    await client?.stop();
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as { cause?: unknown }).cause;
    return cause instanceof Error ? `${error.message} (${cause.message})` : error.message;
  }
  const { message, code } = (error ?? {}) as { message?: unknown; code?: unknown };
  if (typeof message === 'string' && message !== '') return typeof code === 'number' ? `${message} (HTTP ${code})` : message;
  if (typeof code === 'number') return `HTTP ${code}`;
  return 'unknown error';
}

/**
 * smee-client (and the undici it brings) is loaded when a smee tunnel starts,
 * not when the worker does: most workers never start one, and the import was
 * a tenth of the worker's start-up — time a crashed worker is not serving.
 */
function loadSmeeClient(): Promise<typeof SmeeModule> {
  return import('smee-client');
}
