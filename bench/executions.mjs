// The execution engine, end to end, with a stand-in for Claude Code that
// floods stream-json (bench/fixtures/flood-agent.mjs) behind AGENTED_CLAUDE_PATH
// of a real `agented serve`. Three figures, each beside a baseline measured
// in the same run:
// - log pipeline: lines read from the CLI's pipe, parsed, stored, and delivered
//   to an SSE client, per second and with their latency (written by the CLI →
//   received by the client), vs this process reading the same program's stdout;
//   and beside both, the least a server can do on that path (a second process,
//   bench/minimal-pipeline-server.mjs), so the figure says what the machine allows;
// - SSE fan-out: many clients on one execution — none dropped, and the
//   worker's memory per client;
// - start latency: POST /api/triggers/:id/run sent → the CLI's first line of
//   code runs, vs child_process.spawn of the same program.
// Beside each wall-clock figure, the CPU time per line of the processes
// involved (from /proc): on a shared machine the wall clock says how busy the
// neighbours were, the CPU time where the work goes. To compare two builds,
// run them turn about: BENCH_AGENTED_DIST=<folder with main/cli.js> picks
// the build, BENCH_EXECUTION_PARTS=pipeline (or fan-out, start) one part.
// BENCH_AGENTED_NODE_ARGS passes node options to Agented (the worker
// inherits them), e.g. --cpu-prof --cpu-prof-dir=<dir>.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startProcess, withTempDir } from './processes.mjs';
import { followExecution, nowMs } from './sse-client.mjs';

const KEY = 'bench-key-0123456789abcdefghijklmnop';
const FIXTURE = fileURLToPath(new URL('fixtures/flood-agent.mjs', import.meta.url));
/** LogStore's default maxLinesPerExecution: past it an execution's output is cut (one truncation line, the rest dropped). */
const LOG_STORE_CAP = 100_000;
/** Lines an execution stores besides the flood: "starting …", the init message, the result, the end. */
const OTHER_LINES = 4;
const FLOOD_LINES = Math.min(Number(process.env.BENCH_FLOOD_LINES ?? 90_000), LOG_STORE_CAP - OTHER_LINES);
/** Characters of text per flood message: 200 makes ~670-character lines; real Claude Code lines are often longer (BENCH_TEXT_CHARS=600: ~1,070). */
const TEXT_CHARS = Number(process.env.BENCH_TEXT_CHARS ?? 200);
const ROUNDS = Number(process.env.BENCH_EXECUTION_ROUNDS ?? 3);
const FAN_OUT_CLIENTS = Number(process.env.BENCH_FAN_OUT_CLIENTS ?? 500);
const FAN_OUT_LINES = Number(process.env.BENCH_FAN_OUT_LINES ?? 150);
const FAN_OUT_RATE = Number(process.env.BENCH_FAN_OUT_RATE ?? 20);
const START_REPEATS = Number(process.env.BENCH_START_REPEATS ?? 20);
/** Which parts to run (comma-separated: pipeline, fan-out, start); all by default. */
const PARTS = new Set((process.env.BENCH_EXECUTION_PARTS ?? 'pipeline,fan-out,start').split(','));
/** The Agented build to run (a folder holding main/cli.js), so two builds can be measured turn about on a noisy machine. */
const AGENTED_DIST = process.env.BENCH_AGENTED_DIST ?? 'dist';
/** Node options for Agented's processes (the worker inherits them), e.g. `--cpu-prof --cpu-prof-dir=/tmp/profiles`. */
const AGENTED_NODE_ARGS = (process.env.BENCH_AGENTED_NODE_ARGS ?? '').split(' ').filter((arg) => arg !== '');

const round = (value, digits = 1) => Number(value.toFixed(digits));
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};
const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** VmRSS of a process, in KB (Linux). */
function rssKb(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)[1]);
}

/** CPU time (user + system) a process has used, in ms (Linux; clock ticks of 10 ms). */
function cpuMs(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/**
 * How much of the last minute runnable tasks waited for a CPU (Linux PSI,
 * /proc/pressure/cpu "some avg60", in %), or null where it is not available.
 */
function cpuPressure() {
  try {
    return Number(/^some avg10=[\d.]+ avg60=([\d.]+)/.exec(fs.readFileSync('/proc/pressure/cpu', 'utf8'))[1]);
  } catch {
    return null;
  }
}

/** CPU time this process has used, in ms. */
const ownCpuMs = () => {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
};

/** The flood program as an executable, started the way the worker starts a CLI found on disk. */
function agentExecutable(dir) {
  const file = path.join(dir, 'claude');
  fs.writeFileSync(file, `#!/bin/sh\nexec "${process.execPath}" "${FIXTURE}" "$@"\n`, { mode: 0o755 });
  return file;
}

/** The arguments the Claude adapter passes (the prompt last), so the bare spawn gets the same argv. */
const claudeArgs = (prompt) => ['--output-format', 'stream-json', '--verbose', '--permission-mode', 'acceptEdits', '-p', '--', prompt];

/** Counts flood lines as they arrive, with the first and last arrival and each line's latency. */
class LineMeter {
  constructor(expected) {
    this.latencies = new Float64Array(expected);
    this.count = 0;
    this.first = 0;
    this.last = 0;
  }

  /** `text` holds "emitted_at=<ms>" (a flood line) or not (then it is ignored). */
  take(text, receivedAt) {
    const at = text.indexOf('emitted_at=');
    if (at === -1) return false;
    if (this.count === 0) this.first = receivedAt;
    this.last = receivedAt;
    if (this.count < this.latencies.length) this.latencies[this.count] = receivedAt - parseFloat(text.slice(at + 11, at + 40));
    this.count += 1;
    return true;
  }

  summary() {
    const sorted = this.latencies.slice(0, Math.min(this.count, this.latencies.length)).sort();
    return {
      lines: this.count,
      linesPerSecond: Math.round((this.count - 1) / ((this.last - this.first) / 1000)),
      latencyP50Ms: round(percentile(sorted, 50)),
      latencyP99Ms: round(percentile(sorted, 99)),
      latencyMaxMs: round(sorted[sorted.length - 1]),
    };
  }
}

/** The Agented API over one keep-alive connection pool. */
function apiClient(baseUrl) {
  const agent = new http.Agent({ keepAlive: true });
  const call = (method, urlPath, body, onSent) =>
    new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const headers = { authorization: `Bearer ${KEY}`, ...(payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }) };
      const url = new URL(urlPath, baseUrl);
      onSent?.(nowMs());
      const request = http.request({ host: url.hostname, port: url.port, path: url.pathname, method, headers, agent }, (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk) => (text += chunk));
        response.on('end', () => resolve({ status: response.statusCode, body: text === '' ? undefined : JSON.parse(text) }));
      });
      request.once('error', reject);
      request.end(payload);
    });
  return {
    call,
    async createTrigger(name, promptTemplate) {
      const created = await call('POST', '/api/triggers', { name, kind: 'manual', backend: 'claude', promptTemplate });
      if (created.status !== 201) throw new Error(`trigger not created: ${JSON.stringify(created.body)}`);
      return created.body.id;
    },
    /** Runs a trigger; `sentAt` is when the request was handed to the socket. */
    async run(triggerId) {
      let sentAt = 0;
      const accepted = await call('POST', `/api/triggers/${triggerId}/run`, { params: {} }, (at) => (sentAt = at));
      if (accepted.status !== 202) throw new Error(`run not accepted: ${JSON.stringify(accepted.body)}`);
      return { executionId: accepted.body.executionId, sentAt };
    },
    close: () => agent.destroy(),
  };
}

/** Spawns the program directly and reads its stdout line by line; `onLine(line, receivedAt)`. Resolves on exit. */
function readDirectly(executable, prompt, onLine) {
  return new Promise((resolve, reject) => {
    const child = spawn(executable, claudeArgs(prompt), { stdio: ['ignore', 'pipe', 'inherit'] });
    child.once('error', reject);
    child.stdout.setEncoding('utf8');
    let partial = '';
    child.stdout.on('data', (chunk) => {
      const receivedAt = nowMs();
      const text = partial + chunk;
      let start = 0;
      for (let end = text.indexOf('\n'); end !== -1; end = text.indexOf('\n', start)) {
        onLine(text.slice(start, end), receivedAt);
        start = end + 1;
      }
      partial = text.slice(start);
    });
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`${executable} exited with ${code}`))));
  });
}

// --- 1. Log pipeline ---------------------------------------------------------

const microsPerLine = (ms, lines) => round((ms * 1000) / lines);

async function floodDirectly(executable, prompt, goFile) {
  fs.rmSync(goFile, { force: true });
  const meter = new LineMeter(FLOOD_LINES);
  let cpuAtGo = 0;
  await readDirectly(executable, prompt, (line, receivedAt) => {
    if (!meter.take(line, receivedAt) && line.includes('"started_at_ms"')) {
      cpuAtGo = ownCpuMs();
      fs.writeFileSync(goFile, '');
    }
  });
  return { ...meter.summary(), readerCpuMicrosPerLine: microsPerLine(ownCpuMs() - cpuAtGo, meter.count) };
}

async function floodThroughAgented(api, baseUrl, workerPid, triggerId, goFile) {
  fs.rmSync(goFile, { force: true });
  const { executionId } = await api.run(triggerId);
  const meter = new LineMeter(FLOOD_LINES);
  const cpuAtGo = { worker: 0, client: 0 };
  // The flood starts once this client has the init line: it is then following the live output.
  const { status, reconnects } = await followExecution(baseUrl, KEY, executionId, (event, _id, data, receivedAt) => {
    if (event === 'log' && !meter.take(data, receivedAt) && data.includes('started_at_ms')) {
      Object.assign(cpuAtGo, { worker: cpuMs(workerPid), client: ownCpuMs() });
      fs.writeFileSync(goFile, '');
    }
  }).done;
  if (status.state !== 'succeeded') throw new Error(`flood execution ${executionId} ended ${status.state}: ${status.reason}`);
  return {
    ...meter.summary(),
    workerCpuMicrosPerLine: microsPerLine(cpuMs(workerPid) - cpuAtGo.worker, meter.count),
    clientCpuMicrosPerLine: microsPerLine(ownCpuMs() - cpuAtGo.client, meter.count),
    reconnects,
  };
}

/** The same flood through the least a server can do (bench/minimal-pipeline-server.mjs): how far below the raw read any implementation starts here. */
async function floodThroughMinimal(minimal, prompt, goFile) {
  fs.rmSync(goFile, { force: true });
  const meter = new LineMeter(FLOOD_LINES);
  const cpuAtGo = { server: 0, client: 0 };
  const { status } = await followExecution(minimal.url, KEY, encodeURIComponent(prompt), (event, _id, data, receivedAt) => {
    if (event === 'log' && !meter.take(data, receivedAt) && data.includes('started_at_ms')) {
      Object.assign(cpuAtGo, { server: cpuMs(minimal.pid), client: ownCpuMs() });
      fs.writeFileSync(goFile, '');
    }
  }).done;
  if (status.state !== 'succeeded') throw new Error(`the minimal pipeline's flood ended ${status.state}`);
  return {
    ...meter.summary(),
    serverCpuMicrosPerLine: microsPerLine(cpuMs(minimal.pid) - cpuAtGo.server, meter.count),
    clientCpuMicrosPerLine: microsPerLine(ownCpuMs() - cpuAtGo.client, meter.count),
  };
}

async function logPipeline(api, baseUrl, workerPid, executable, temp) {
  const goFile = path.join(temp, 'go-pipeline');
  const prompt = `flood lines=${FLOOD_LINES} text=${TEXT_CHARS} go=${goFile}`;
  const triggerId = await api.createTrigger('bench log pipeline', prompt);
  const rounds = [];
  const minimal = await startProcess([fileURLToPath(new URL('minimal-pipeline-server.mjs', import.meta.url)), executable], {});
  try {
    for (let i = 0; i < ROUNDS; i += 1) {
      const baseline = await floodDirectly(executable, prompt, goFile);
      const least = await floodThroughMinimal(minimal, prompt, goFile);
      const agented = await floodThroughAgented(api, baseUrl, workerPid, triggerId, goFile);
      rounds.push({ baseline, minimal: least, agented, ratio: round(agented.linesPerSecond / baseline.linesPerSecond, 3), minimalRatio: round(least.linesPerSecond / baseline.linesPerSecond, 3) });
    }
  } finally {
    await minimal.stop();
  }
  const middle = rounds.find((entry) => entry.ratio === median(rounds.map((other) => other.ratio))) ?? rounds[0];
  const ratio = middle.ratio;
  const target = { ratio: 0.5, latencyP99Ms: 100 };
  const result = {
    name: `log pipeline: ${FLOOD_LINES} stream-json lines (${TEXT_CHARS}-character text) read, parsed, stored and streamed to one SSE client vs read straight from the same program's stdout`,
    lines: FLOOD_LINES,
    logStoreCap: LOG_STORE_CAP,
    rounds: rounds.length,
    baseline: middle.baseline,
    minimal: middle.minimal,
    agented: middle.agented,
    ratio,
    minimalRatio: median(rounds.map((entry) => entry.minimalRatio)),
    perRound: rounds.map((entry) => ({ ratio: entry.ratio, minimalRatio: entry.minimalRatio, agentedLinesPerSecond: entry.agented.linesPerSecond, minimalLinesPerSecond: entry.minimal.linesPerSecond, baselineLinesPerSecond: entry.baseline.linesPerSecond, agentedLatencyP99Ms: entry.agented.latencyP99Ms })),
    target,
    met: rounds.every((entry) => entry.agented.lines === FLOOD_LINES) && ratio >= target.ratio && middle.agented.latencyP99Ms <= target.latencyP99Ms,
  };
  console.log(
    `${result.name}: ${middle.agented.linesPerSecond} lines/s (latency p50 ${middle.agented.latencyP50Ms} ms, p99 ${middle.agented.latencyP99Ms} ms; CPU per line: worker ${middle.agented.workerCpuMicrosPerLine} µs, SSE client ${middle.agented.clientCpuMicrosPerLine} µs) vs ${middle.baseline.linesPerSecond} lines/s (p50 ${middle.baseline.latencyP50Ms} ms, p99 ${middle.baseline.latencyP99Ms} ms; reader ${middle.baseline.readerCpuMicrosPerLine} µs a line) → ratio ${ratio} (median of ${rounds.length}: ${rounds.map((entry) => entry.ratio).join(', ')}; worker CPU ${rounds.map((entry) => entry.agented.workerCpuMicrosPerLine).join(', ')} µs a line); target ≥ ${target.ratio}, p99 ≤ ${target.latencyP99Ms} ms: ${result.met ? 'met' : 'MISSED'}`,
  );
  console.log(
    `  beside it, the least a server can do (parse, store in 64 KB rows, stream; bench/minimal-pipeline-server.mjs): ${middle.minimal.linesPerSecond} lines/s (p99 ${middle.minimal.latencyP99Ms} ms; CPU per line: server ${middle.minimal.serverCpuMicrosPerLine} µs, SSE client ${middle.minimal.clientCpuMicrosPerLine} µs) → ${result.minimalRatio} of the raw read (rounds: ${rounds.map((entry) => entry.minimalRatio).join(', ')})`,
  );
  return result;
}

// --- 2. SSE fan-out ------------------------------------------------------------

async function waitForProcess(api, executionId) {
  for (let i = 0; i < 400; i += 1) {
    const { body } = await api.call('GET', `/api/executions/${executionId}`);
    if (body.state === 'running' && body.processGroup !== null) return;
    if (body.state !== 'queued' && body.state !== 'running') throw new Error(`execution ${executionId} ended ${body.state}: ${body.reason}`);
    await sleep(25);
  }
  throw new Error(`execution ${executionId} did not start`);
}

/** One of many clients: what it got, checked as it arrives; `meter` (optional) takes the flood lines' latencies. */
function watcher(baseUrl, executionId, meter) {
  const state = { lines: 0, lastSeq: 0, gaps: 0, live: false };
  let resolveLive;
  const live = new Promise((resolve) => (resolveLive = resolve));
  const stream = followExecution(baseUrl, KEY, executionId, (event, id, data, receivedAt) => {
    if (event !== 'log') return;
    const seq = Number(id);
    if (seq !== state.lastSeq + 1) state.gaps += 1;
    state.lastSeq = seq;
    state.lines += 1;
    if (meter?.take(data, receivedAt)) return;
    if (!state.live && data.includes('started_at_ms')) {
      state.live = true;
      resolveLive();
    }
  });
  return { state, live, done: stream.done.then((end) => Object.assign(state, end)) };
}

/** Runs the fan-out trigger once: `clients` watchers, RSS sampled while they stream. */
async function fanOutRun(api, baseUrl, workerPid, triggerId, goFile, clients) {
  fs.rmSync(goFile, { force: true });
  const { executionId } = await api.run(triggerId);
  await waitForProcess(api, executionId);
  await sleep(500);
  const before = rssKb(workerPid);
  const watchers = [];
  const meter = new LineMeter(FAN_OUT_LINES * Math.ceil(clients / 10));
  for (let i = 0; i < clients; i += 50) {
    // Every tenth client measures latency (all of them would load this process more than the worker).
    const batch = Array.from({ length: Math.min(50, clients - i) }, (_, j) => watcher(baseUrl, executionId, (i + j) % 10 === 0 ? meter : undefined));
    watchers.push(...batch);
    await Promise.all(batch.map((entry) => entry.live));
  }
  const connected = rssKb(workerPid);
  const cpuAtGo = { worker: cpuMs(workerPid), clients: ownCpuMs() };
  fs.writeFileSync(goFile, '');
  const samples = [];
  const sampler = setInterval(() => samples.push(rssKb(workerPid)), 200);
  const ends = await Promise.all(watchers.map((entry) => entry.done));
  clearInterval(sampler);
  const frames = ends.reduce((sum, end) => sum + end.lines, 0);
  return {
    ends,
    rss: { before, connected, streamingPeak: Math.max(connected, ...samples), streamingMedian: samples.length > 0 ? median(samples) : connected },
    latency: meter.summary(),
    cpuMicrosPerFrame: { worker: microsPerLine(cpuMs(workerPid) - cpuAtGo.worker, frames), clients: microsPerLine(ownCpuMs() - cpuAtGo.clients, frames) },
  };
}

async function fanOut(api, baseUrl, workerPid, temp) {
  const goFile = path.join(temp, 'go-fan-out');
  const flood = `rate=${FAN_OUT_RATE} text=${TEXT_CHARS} go=${goFile}`;
  // Warm-up with one client (a shorter run): the heap grows to what streaming needs anyway, so what follows is per client.
  const single = await fanOutRun(api, baseUrl, workerPid, await api.createTrigger('bench fan-out warm-up', `flood lines=${Math.ceil(FAN_OUT_LINES / 3)} ${flood}`), goFile, 1);
  const triggerId = await api.createTrigger('bench fan-out', `flood lines=${FAN_OUT_LINES} ${flood}`);
  const { ends, rss, latency, cpuMicrosPerFrame } = await fanOutRun(api, baseUrl, workerPid, triggerId, goFile, FAN_OUT_CLIENTS);

  const expected = Math.max(...ends.map((end) => end.lastSeq));
  const complete = ends.filter((end) => end.status?.state === 'succeeded' && end.gaps === 0 && end.lines === expected && end.lastSeq === expected).length;
  const reconnected = ends.filter((end) => end.reconnects > 0).length;
  const perClientKb = round((rss.streamingPeak - rss.before) / FAN_OUT_CLIENTS);
  const target = { dropped: 0, perClientKb: 100 };
  const result = {
    name: `SSE fan-out: ${FAN_OUT_CLIENTS} clients on one execution (${FAN_OUT_LINES} lines at ${FAN_OUT_RATE}/s) — every line and the final status to each; worker RSS per client`,
    clients: FAN_OUT_CLIENTS,
    linesPerClient: expected,
    complete,
    dropped: FAN_OUT_CLIENTS - complete,
    reconnected,
    workerRssKb: rss,
    baseline: { clients: 1, workerRssKb: single.rss, latency: single.latency },
    perClientKb,
    perClientConnectedKb: round((rss.connected - rss.before) / FAN_OUT_CLIENTS),
    perClientStreamingMedianKb: round((rss.streamingMedian - rss.before) / FAN_OUT_CLIENTS),
    latency,
    cpuMicrosPerFrame,
    target,
    met: complete === FAN_OUT_CLIENTS && reconnected === 0 && perClientKb <= target.perClientKb,
  };
  console.log(
    `${result.name}: ${complete}/${FAN_OUT_CLIENTS} complete, ${reconnected} reconnected; worker RSS ${rss.before} KB → ${rss.connected} KB connected → peak ${rss.streamingPeak} KB streaming = ${perClientKb} KB per client (${result.perClientConnectedKb} KB connected, ${result.perClientStreamingMedianKb} KB at the median sample); line latency p50 ${latency.latencyP50Ms} ms, p99 ${latency.latencyP99Ms} ms (1 client: ${single.latency.latencyP50Ms}/${single.latency.latencyP99Ms} ms); CPU per delivered line: worker ${cpuMicrosPerFrame.worker} µs, clients ${cpuMicrosPerFrame.clients} µs; target 0 dropped, ≤ ${target.perClientKb} KB: ${result.met ? 'met' : 'MISSED'}`,
  );
  return result;
}

// --- 3. Start latency -------------------------------------------------------------

/** The program's own start time, from its init line (stdout, or the text of a stored log line). */
const startedAtOf = (line) => JSON.parse(line).started_at_ms;

async function startDirectly(executable, prompt) {
  const spawnedAt = nowMs();
  let startedAt;
  await readDirectly(executable, prompt, (line) => {
    if (startedAt === undefined) startedAt = startedAtOf(line);
  });
  return startedAt - spawnedAt;
}

async function startThroughAgented(api, baseUrl, triggerId) {
  const { executionId, sentAt } = await api.run(triggerId);
  let startedAt;
  const { status } = await followExecution(baseUrl, KEY, executionId, (event, _id, data) => {
    if (event !== 'log' || startedAt !== undefined) return;
    const line = JSON.parse(data);
    if (line.stream === 'stdout') startedAt = startedAtOf(line.text);
  }).done;
  if (status.state !== 'succeeded') throw new Error(`execution ${executionId} ended ${status.state}: ${status.reason}`);
  return startedAt - sentAt;
}

async function startLatency(api, baseUrl, executable) {
  const prompt = 'flood lines=0';
  const triggerId = await api.createTrigger('bench start latency', prompt);
  // Warm-up: the worker reads the login shell's PATH on its first execution and caches it.
  await startThroughAgented(api, baseUrl, triggerId);
  await startDirectly(executable, prompt);
  const direct = [];
  const agented = [];
  for (let i = 0; i < START_REPEATS; i += 1) {
    direct.push(await startDirectly(executable, prompt));
    agented.push(await startThroughAgented(api, baseUrl, triggerId));
  }
  const baselineMs = median(direct);
  const agentedMs = median(agented);
  const ratio = round(agentedMs / baselineMs, 3);
  const target = { ratio: 2 };
  const result = {
    name: 'start latency: POST /api/triggers/:id/run sent → the CLI runs its first line, vs child_process.spawn → the same',
    repeats: START_REPEATS,
    warmUp: 'one execution and one spawn first (the worker caches the login shell PATH after its first execution)',
    baseline: { medianMs: round(baselineMs), minMs: round(Math.min(...direct)), maxMs: round(Math.max(...direct)) },
    agented: { medianMs: round(agentedMs), minMs: round(Math.min(...agented)), maxMs: round(Math.max(...agented)) },
    ratio,
    target,
    met: ratio <= target.ratio,
  };
  console.log(
    `${result.name}: median ${result.agented.medianMs} ms (${result.agented.minMs}–${result.agented.maxMs}) vs ${result.baseline.medianMs} ms (${result.baseline.minMs}–${result.baseline.maxMs}) → ratio ${ratio}; target ≤ ${target.ratio}: ${result.met ? 'met' : 'MISSED'}`,
  );
  return result;
}

export const executions = {
  name: 'executions',
  async run() {
    return withTempDir(async (temp) => {
      const executable = agentExecutable(temp);
      const agented = await startProcess([...AGENTED_NODE_ARGS, path.join(AGENTED_DIST, 'main', 'cli.js'), 'serve', '--port', '0'], {
        HOME: temp,
        AGENTED_API_KEY: KEY,
        AGENTED_DATA_DIR: `${temp}/data`,
        AGENTED_LOG_DIR: `${temp}/logs`,
        AGENTED_LOG_STDOUT: '0',
        AGENTED_CLAUDE_PATH: executable,
      });
      const api = apiClient(agented.url);
      try {
        const ready = await api.call('GET', '/health/ready');
        const workerPid = ready.body.pid;
        // Fan-out first, on a worker whose heap no flood has grown yet.
        const measure = async (benchmark) => ({ ...(await benchmark()), cpuPressureAvg60: cpuPressure() });
        const start = PARTS.has('start') ? await measure(() => startLatency(api, agented.url, executable)) : undefined;
        const fan = PARTS.has('fan-out') ? await measure(() => fanOut(api, agented.url, workerPid, temp)) : undefined;
        const pipeline = PARTS.has('pipeline') ? await measure(() => logPipeline(api, agented.url, workerPid, executable, temp)) : undefined;
        const results = [pipeline, fan, start].filter((result) => result !== undefined);
        console.log(`CPU pressure (share of the last minute tasks waited for a CPU, /proc/pressure/cpu): ${results.map((result) => `${result.cpuPressureAvg60}%`).join(', ')}`);
        return results;
      } finally {
        api.close();
        await agented.stop();
      }
    });
  },
};
