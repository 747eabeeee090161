import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { errorCatalogue } from '../../common/errors.js';
import type { Disposable } from '../lifecycle/disposables.js';
import { readBodyWithin } from '../server/read-body.js';
import type { Logger } from '../telemetry/logger.js';
import { describeRelayed, forwardableHeaders, postToWorker, refusalReason, type RelayedRequest } from './hook-forwarding.js';

export interface HookGateOptions {
  /** Whose traffic this is, for the logs. */
  provider: string;
  /** The worker's own URL (http://127.0.0.1:PORT). */
  target: string;
  /** The worker's limit for a delivery's body (AGENTED_MAX_HOOK_BODY_BYTES). */
  maxBodyBytes: number;
  logger: Logger;
  onRefused(request: RelayedRequest, reason: string): void;
}

/**
 * A small HTTP server on 127.0.0.1 between a tunnel that forwards raw HTTP
 * (ngrok) and the worker: it passes `POST /hooks/<trigger>` on and answers 404
 * to everything else, so the API behind the key is never reachable from
 * outside, whatever the tunnel is asked for. Bodies are passed on
 * unchanged (signatures are over the exact bytes), and the worker's answer
 * is passed back. It also sets Host to the worker's, which the worker's
 * allowlist accepts (the public name would not pass).
 *
 * A body is read whole here, and one over the worker's limit is answered 413
 * here: the worker answers that before reading the rest and then closes the
 * connection, which a body still being streamed to it turns into a write
 * error, and the sender would see 502 instead of 413.
 */
export class HookGate implements Disposable {
  private constructor(
    private readonly server: http.Server,
    readonly url: string,
  ) {}

  static async start(options: HookGateOptions): Promise<HookGate> {
    const target = new URL(options.target);
    const server = http.createServer({ requestTimeout: 60_000, headersTimeout: 20_000, keepAliveTimeout: 5_000 }, (req, res) => {
      void pass(options, target, req, res);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const { port } = server.address() as AddressInfo;
    return new HookGate(server, `http://127.0.0.1:${port}`);
  }

  /** host:port, as a tunnel library wants its upstream. */
  get address(): string {
    return new URL(this.url).host;
  }

  dispose(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

async function pass(options: HookGateOptions, target: URL, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const method = req.method ?? 'GET';
  const path = new URL(req.url ?? '/', 'http://gate.invalid').pathname;
  const relayed = describeRelayed(method, path, req.headers);
  // A query string is not passed on: the worker's deliveries take none.
  const refusal = refusalReason(method, path);
  if (refusal !== null) {
    options.logger.warn('tunnel request refused', { provider: options.provider, method, path: relayed.path, reason: refusal });
    options.onRefused(relayed, refusal);
    req.resume();
    return answer(res, 404, { error: { code: 'ERR_NOT_FOUND', message: 'Only webhook deliveries (POST /hooks/<trigger>) pass through the tunnel.' } });
  }
  try {
    const body = await readBodyWithin(req, options.maxBodyBytes);
    if (body === null) {
      const { status, message } = errorCatalogue.ERR_BODY_TOO_LARGE;
      return answer(res, status, { error: { code: 'ERR_BODY_TOO_LARGE', message } });
    }
    const response = await postToWorker(target, path, forwardableHeaders(req.headers), body);
    const passed: http.OutgoingHttpHeaders = { 'content-length': response.body.length };
    for (const name of ['content-type', 'x-request-id', 'cache-control']) {
      const value = response.headers[name];
      if (value !== undefined) passed[name] = value;
    }
    res.writeHead(response.status, passed);
    res.end(response.body);
  } catch (error) {
    options.logger.warn('tunnel could not reach the worker', { provider: options.provider, path: relayed.path, err: error });
    if (!res.headersSent) answer(res, 502, { error: { code: 'ERR_INTERNAL', message: 'Agented did not answer.' } });
    else res.destroy();
  }
}

function answer(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}
