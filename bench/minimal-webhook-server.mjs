// A second baseline for the webhook benchmark, in its own process: a plain
// server doing only what the path is asked to, the straightforward way, on
// one thread — read the body, verify its GitHub signature, parse it, claim
// its delivery id in a table keyed by it (a retried delivery starts nothing),
// store the delivery and an execution with its prompt, and answer 202 only
// once that is committed (the deliveries of one event-loop turn share a
// transaction, as Agented's do). Nothing else: no request ids or access log,
// no Host check, no inspector limits, no prompt guardrails, no queue. The
// secret is its argument.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { serveUntilStopped } from './processes.mjs';

const secret = process.argv[2];

const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'agented-bench-minimal-'));
const db = new Database(path.join(folder, 'hooks.db'));
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.exec(`
  CREATE TABLE dedup (key TEXT PRIMARY KEY) WITHOUT ROWID;
  CREATE TABLE deliveries (id INTEGER PRIMARY KEY, headers TEXT NOT NULL, body BLOB NOT NULL);
  CREATE TABLE executions (id INTEGER PRIMARY KEY, delivery_id INTEGER NOT NULL, prompt TEXT NOT NULL);
`);
const claim = db.prepare('INSERT OR IGNORE INTO dedup (key) VALUES (?)');
const addDelivery = db.prepare('INSERT INTO deliveries (headers, body) VALUES (?, ?)');
const addExecution = db.prepare('INSERT INTO executions (delivery_id, prompt) VALUES (?, ?)');

/** Accepted deliveries of this turn, written in one transaction at its end. */
let turn = [];
const commit = db.transaction((items) =>
  items.map(({ req, body, payload }) => {
    if (claim.run(req.headers['x-github-delivery']).changes === 0) return null;
    const deliveryId = addDelivery.run(JSON.stringify(req.headers), body).lastInsertRowid;
    return addExecution.run(deliveryId, `Review "${payload.pull_request.title}" in ${payload.repository.full_name}`).lastInsertRowid;
  }),
);

function flush() {
  const items = turn;
  turn = [];
  const ids = commit(items);
  items.forEach(({ res }, index) => answer(res, ids[index] === null ? 200 : 202, ids[index] === null ? { duplicate: true } : { executionId: String(ids[index]) }));
}

function answer(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function verified(signature, body) {
  const expected = Buffer.from(`sha256=${crypto.createHmac('sha256', secret).update(body).digest('hex')}`);
  const given = Buffer.from(String(signature ?? ''));
  return given.length === expected.length && crypto.timingSafeEqual(given, expected);
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    if (!verified(req.headers['x-hub-signature-256'], body)) return answer(res, 401, { error: 'signature' });
    let payload;
    try {
      payload = JSON.parse(body.toString('utf8'));
    } catch {
      return answer(res, 400, { error: 'json' });
    }
    if (turn.push({ req, res, body, payload }) === 1) setImmediate(flush);
  });
});
serveUntilStopped(server, () => {
  db.close();
  fs.rmSync(folder, { recursive: true, force: true });
});
