import http from 'node:http';

/** The only thing a tunnel may reach: a delivery to one trigger. */
const HOOK_PATH = /^\/hooks\/[A-Za-z0-9_-]{1,100}$/;
const TRIGGER_ID = /^\/hooks\/(trg_[A-Za-z0-9_-]{1,64})$/;

/**
 * Not forwarded: hop-by-hop headers (RFC 9110 §7.6.1; a relayed
 * `Transfer-Encoding: chunked` is what breaks smee-client's own forwarding,
 * probot/smee-client#431), Host and Content-Length (set for the request made
 * here), and credentials of the local API.
 */
const DROPPED_HEADERS = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'expect',
  'host',
  'content-length',
  'authorization',
  'cookie',
  'x-api-key',
]);

/** Answers from the worker are small JSON documents; anything longer is cut. */
const MAX_ANSWER_BYTES = 64 * 1024;

/** A request a tunnel relayed, as the logs and GET /api/tunnel describe it. */
export interface RelayedRequest {
  method: string;
  /** The local path asked for, cut at 200 characters. */
  path: string;
  triggerId: string | null;
  deliveryId: string | null;
}

export interface WorkerAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** The error code of a JSON error answer. */
  errorCode: string | undefined;
}

function single(value: unknown): string | null {
  const first = Array.isArray(value) ? (value[0] as unknown) : value;
  return typeof first === 'string' && first !== '' ? first.slice(0, 200) : null;
}

export function describeRelayed(method: string, path: string, headers: Readonly<Record<string, unknown>>): RelayedRequest {
  return {
    method,
    path: path.slice(0, 200),
    triggerId: TRIGGER_ID.exec(path)?.[1] ?? null,
    deliveryId: single(headers['x-github-delivery']) ?? single(headers['webhook-id']),
  };
}

/** Why a relayed request may not pass, or null when it is a delivery to a trigger. */
export function refusalReason(method: string, path: string): string | null {
  if (method !== 'POST') return `${method} is not a webhook delivery`;
  if (!HOOK_PATH.test(path)) return 'only /hooks/<trigger> is forwarded';
  return null;
}

/** The relayed headers that may go on to the worker. */
export function forwardableHeaders(headers: Readonly<Record<string, unknown>>): http.OutgoingHttpHeaders {
  const result: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (DROPPED_HEADERS.has(lower)) continue;
    if (typeof value === 'string' || typeof value === 'number') result[lower] = value;
    else if (Array.isArray(value) && value.every((item) => typeof item === 'string')) result[lower] = value as string[];
  }
  return result;
}

/**
 * POSTs a relayed delivery to the worker's own `/hooks/…` (so it goes through
 * the same checks as any delivery: Host allowlist, size limit, signature,
 * dedup) and returns the answer.
 */
export function postToWorker(target: URL, path: string, headers: http.OutgoingHttpHeaders, body: Buffer): Promise<WorkerAnswer> {
  return new Promise((resolve, reject) => {
    const outgoing: http.OutgoingHttpHeaders = { ...headers, host: target.host, 'content-length': body.length };
    const request = http.request({ hostname: target.hostname, port: target.port, method: 'POST', path, headers: outgoing, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size <= MAX_ANSWER_BYTES) chunks.push(chunk);
      });
      response.on('end', () => {
        const answer = Buffer.concat(chunks);
        resolve({ status: response.statusCode ?? 502, headers: response.headers, body: answer, errorCode: errorCodeOf(answer) });
      });
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end(body);
  });
}

function errorCodeOf(body: Buffer): string | undefined {
  try {
    const code = (JSON.parse(body.toString('utf8')) as { error?: { code?: unknown } }).error?.code;
    return typeof code === 'string' ? code : undefined;
  } catch {
    return undefined;
  }
}
