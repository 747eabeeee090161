// A second baseline for the log pipeline, in its own process: the least a
// server can do and still do what the pipeline is asked to — read the CLI's
// stdout, parse every line as JSON, store the lines in SQLite (one row per
// ~64 KB, as Agented's log chunks), and stream each line to an SSE client.
// Nothing else: no records around the lines, no usage, no secrets masked, no
// line cap, no replay. It answers the path Agented streams on,
// GET /api/executions/<prompt, URI-encoded>/stream: it starts the program
// given as its argument with the Claude adapter's arguments and that prompt,
// sends each line as a `log` event (the line itself as its data), and ends
// with a `status` event once the program exits.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { serveUntilStopped } from './processes.mjs';

const executable = process.argv[2];
const CHUNK_BYTES = 64 * 1024;

const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'agented-bench-minimal-'));
const db = new Database(path.join(folder, 'logs.db'));
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.exec('CREATE TABLE log_chunks (stream TEXT NOT NULL, first_seq INTEGER NOT NULL, text TEXT NOT NULL, PRIMARY KEY (stream, first_seq)) WITHOUT ROWID');
const insertChunk = db.prepare('INSERT INTO log_chunks (stream, first_seq, text) VALUES (?, ?, ?)');

const claudeArgs = (prompt) => ['--output-format', 'stream-json', '--verbose', '--permission-mode', 'acceptEdits', '-p', '--', prompt];

let streams = 0;

function stream(prompt, res) {
  const name = `stream-${(streams += 1)}`;
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
  const child = spawn(executable, claudeArgs(prompt), { stdio: ['ignore', 'pipe', 'inherit'] });
  let partial = '';
  let seq = 0;
  let chunk = [];
  let chunkBytes = 0;
  let chunkFirst = 1;
  let kinds = 0;
  const store = () => {
    if (chunk.length === 0) return;
    insertChunk.run(name, chunkFirst, chunk.join('\n'));
    chunk = [];
    chunkBytes = 0;
    chunkFirst = seq + 1;
  };
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (text) => {
    const lines = (partial + text).split('\n');
    partial = lines.pop();
    let frames = '';
    for (const line of lines) {
      if (JSON.parse(line).type !== undefined) kinds += 1;
      seq += 1;
      chunk.push(line);
      chunkBytes += line.length;
      if (chunkBytes >= CHUNK_BYTES) store();
      frames += `id: ${seq}\nevent: log\ndata: ${line}\n\n`;
    }
    if (frames !== '' && !res.write(frames)) {
      child.stdout.pause();
      res.once('drain', () => child.stdout.resume());
    }
  });
  child.once('close', (code) => {
    store();
    res.end(`event: status\ndata: ${JSON.stringify({ state: code === 0 ? 'succeeded' : 'failed', reason: null, typed: kinds })}\n\n`);
  });
}

const server = http.createServer((req, res) => {
  const match = /^\/api\/executions\/([^/]+)\/stream$/.exec(req.url ?? '');
  if (req.method !== 'GET' || !match) {
    res.writeHead(404).end();
    return;
  }
  stream(decodeURIComponent(match[1]), res);
});
serveUntilStopped(server, () => {
  db.close();
  fs.rmSync(folder, { recursive: true, force: true });
});
