// Baseline for the webhook benchmark: bare node:http reading the body and answering 202.
import http from 'node:http';
import { serveUntilStopped } from './processes.mjs';

const server = http.createServer((req, res) => {
  req.on('data', () => {});
  req.on('end', () => {
    res.writeHead(202, { 'content-type': 'application/json; charset=utf-8' });
    res.end('{"executionId":"exe_baseline"}');
  });
});
serveUntilStopped(server);
