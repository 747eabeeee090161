import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request a receiver got, with the exact body bytes (signatures are over them). */
export interface ReceivedRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  rawBody: string;
  receivedAt: number;
  /** When the receiver answered it. */
  answeredAt?: number;
  status?: number;
}

/** What to answer, after an optional delay. */
export interface ReceiverAnswer {
  status: number;
  body?: string;
  headers?: Record<string, string>;
  delayMs?: number;
}

export interface Receiver {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  readonly port: number;
  readonly requests: ReceivedRequest[];
  close(): Promise<void>;
}

/** A local HTTP server on 127.0.0.1 that records every request and answers as `respond` says. */
export async function startReceiver(respond: (request: ReceivedRequest, index: number) => ReceiverAnswer, port = 0): Promise<Receiver> {
  const requests: ReceivedRequest[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const recorded: ReceivedRequest = { method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers, rawBody: Buffer.concat(chunks).toString('utf8'), receivedAt: Date.now() };
      const answer = respond(recorded, requests.length);
      requests.push(recorded);
      setTimeout(() => {
        recorded.answeredAt = Date.now();
        recorded.status = answer.status;
        res.writeHead(answer.status, { 'content-type': 'text/plain', ...answer.headers });
        res.end(answer.body ?? '');
      }, answer.delayMs ?? 0);
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const address = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${address.port}`,
    port: address.port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A Slack incoming-webhook path, shaped like Slack's (`/services/T…/B…/<token>`); the token part is the secret. */
export const SLACK_HOOK_PATH = '/services/T0STANDIN/B0STANDIN/s3cr3tSlackT0kenStandIn1234';

/**
 * Stands in for a Slack incoming webhook, answering as Slack documents
 * (https://api.slack.com/messaging/webhooks and its error changelog): a POST
 * of JSON with a `text` to the webhook's path gets `200 ok`; another path
 * `404 no_service`; a body that is not JSON with text `400 invalid_payload`.
 * `failFirst` answers the first requests with those statuses instead
 * (500 `rollup_error`, 429 with Retry-After …).
 */
export async function startSlackStandIn(options: { failFirst?: ReceiverAnswer[] } = {}): Promise<Receiver & { hookUrl: string; texts(): string[] }> {
  const failures = [...(options.failFirst ?? [])];
  const receiver = await startReceiver((request) => {
    if (request.method !== 'POST' || request.path !== SLACK_HOOK_PATH) return { status: 404, body: 'no_service' };
    const failure = failures.shift();
    if (failure) return failure;
    let payload: unknown;
    try {
      payload = JSON.parse(request.rawBody);
    } catch {
      return { status: 400, body: 'invalid_payload' };
    }
    const text = (payload as { text?: unknown } | null)?.text;
    if (!String(request.headers['content-type']).startsWith('application/json') || typeof text !== 'string' || text.length === 0) return { status: 400, body: 'invalid_payload' };
    return { status: 200, body: 'ok', headers: { 'content-type': 'text/html' } };
  });
  return {
    ...receiver,
    url: receiver.url,
    port: receiver.port,
    requests: receiver.requests,
    close: () => receiver.close(),
    hookUrl: `${receiver.url}${SLACK_HOOK_PATH}`,
    texts: () => receiver.requests.filter((request) => request.status === 200).map((request) => (JSON.parse(request.rawBody) as { text: string }).text),
  };
}
