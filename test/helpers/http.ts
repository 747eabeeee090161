import http from 'node:http';
import net from 'node:net';

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  json<T = unknown>(): T;
}

export interface RawRequest {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

const isEventStream = (headers: http.IncomingHttpHeaders) => (headers['content-type'] ?? '').startsWith('text/event-stream');

/**
 * An HTTP request with full control over headers (fetch forbids setting Host,
 * which the DNS-rebinding tests need). One connection per request. An event
 * stream is answered as soon as its headers arrive (with an empty body).
 */
export function request(baseUrl: string, options: RawRequest): Promise<RawResponse> {
  const url = new URL(options.path, baseUrl);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        method: options.method ?? 'GET',
        path: url.pathname + url.search,
        headers: { connection: 'close', ...options.headers },
        agent: false,
      },
      (res) => {
        // An event stream does not end: answer with its status and headers, and hang up.
        if (isEventStream(res.headers)) {
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: '', json: <T>() => JSON.parse('null') as T });
          req.destroy();
          return;
        }
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body,
            json: <T>() => JSON.parse(body) as T,
          });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

/** JSON calls with a Bearer key: `api(url, method, path, body?)` answers the status and the parsed body (undefined when empty). */
export function keyedApi(key: string) {
  return async <T>(url: string, method: string, urlPath: string, body?: unknown): Promise<{ status: number; body: T }> => {
    const response = await request(url, {
      method,
      path: urlPath,
      headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: response.body === '' ? (undefined as T) : response.json<T>() };
  };
}

/** A loopback port nobody listens on now: for a server started on it later, or for a client that must find nothing there. */
export function unusedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}
