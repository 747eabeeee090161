import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { requestContext } from '../../main/server/middleware/request-id.js';
import { Logger, MemorySink } from '../../main/telemetry/logger.js';

/**
 * The access log: one line per request, however it ends — answered, or left
 * by a client that went away first (a closed event stream, a webhook sender
 * that timed out). Real HTTP on port 0.
 */
const servers: http.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

async function serve(handler: (res: http.ServerResponse) => void): Promise<{ url: string; lines: () => Record<string, unknown>[] }> {
  const sink = new MemorySink();
  const middleware = requestContext(Logger.create({ sink }));
  const server = http.createServer((req, res) => middleware(req, res, () => handler(res)));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const lines = () => sink.lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line.msg === 'request');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, lines };
}

describe('the access log', () => {
  it('writes one line for an answered request', async () => {
    const { url, lines } = await serve((res) => res.end('ok'));
    expect((await fetch(`${url}/health?token=abc`)).status).toBe(200);
    await expect.poll(() => lines().length).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(lines()).toEqual([expect.objectContaining({ method: 'GET', path: '/health', status: 200 })]);
    expect(lines()[0]).not.toHaveProperty('aborted');
  });

  it('writes a line, marked aborted, for a stream the client closed before it ended', async () => {
    const { url, lines } = await serve((res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(': open\n\n');
    });
    const response = await new Promise<http.IncomingMessage>((resolve, reject) => http.get(`${url}/api/events`, resolve).once('error', reject));
    expect(response.statusCode).toBe(200);
    response.destroy();
    await expect.poll(() => lines()).toEqual([expect.objectContaining({ method: 'GET', path: '/api/events', status: 200, aborted: true })]);
  });
});
