// Second baseline: a bare Express 5 app with the one route, in its own process.
// Agented vs this isolates the cost of our middleware from the cost of Express.
import http from 'node:http';
import express from 'express';
import { serveUntilStopped } from './processes.mjs';

const body = { authenticated: true, expiresAt: new Date().toISOString() };
const app = express();
app.get('/api/session', (_req, res) => res.json(body));
serveUntilStopped(http.createServer(app));
