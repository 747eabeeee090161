// Second baseline: a bare Express 5 app with the one route, in its own process.
// Agented vs this isolates the cost of our middleware from the cost of Express.
import express from 'express';

const body = { authenticated: true, expiresAt: new Date().toISOString() };
const app = express();
app.get('/api/session', (_req, res) => res.json(body));
const server = app.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ event: 'ready', url: `http://127.0.0.1:${server.address().port}` })}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
