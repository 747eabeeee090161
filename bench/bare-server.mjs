// Baseline: bare node:http answering the same JSON body, in its own process.
import http from 'node:http';
import { serveUntilStopped } from './processes.mjs';

const body = JSON.stringify({ authenticated: true, expiresAt: new Date().toISOString() });
const server = http.createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
  res.end(body);
});
serveUntilStopped(server);
