// Signed GitHub deliveries through the full path (fast path, signature
// verification, dedup claim, delivery + execution rows in one committed
// transaction, 202) against bare node:http reading the body and answering
// 202, with the same load in the same run. Every delivery has its own
// X-GitHub-Delivery, so every one is accepted and persisted. Then one round
// of the same deliveries with a wrong signature (no target: what a flood of
// forged requests costs). Beside both, each round also loads a plain server
// doing only that path on one thread (bench/minimal-webhook-server.mjs), so
// the figure says what the straightforward way reaches on the same machine.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { startProcess, withTempDir } from './processes.mjs';

const require = createRequire(import.meta.url);
const KEY = 'bench-key-0123456789abcdefghijklmnop';
const CONNECTIONS = 50;
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 8);
/** Measured rounds, each a baseline load then an Agented load. */
const ROUNDS = Number(process.env.BENCH_WEBHOOK_ROUNDS ?? 3);
const TARGET_BYTES = 3500;
/** Node options for Agented (its worker inherits them), e.g. --cpu-prof --cpu-prof-dir=<dir>. */
const AGENTED_NODE_ARGS = (process.env.BENCH_AGENTED_NODE_ARGS ?? '').split(' ').filter((arg) => arg !== '');

/** A real pull_request.opened example from @octokit/webhooks-examples, cut down to about 3.5 KB. */
function pullRequestPayload() {
  const examples = require('@octokit/webhooks-examples');
  const opened = examples.find((entry) => entry.name === 'pull_request').examples.find((example) => example.action === 'opened');
  const pr = opened.pull_request;
  const payload = {
    action: 'opened',
    number: opened.number,
    pull_request: {
      url: pr.url, id: pr.id, html_url: pr.html_url, number: pr.number, state: pr.state, title: pr.title, body: pr.body ?? '',
      user: { login: pr.user.login, id: pr.user.id, type: pr.user.type },
      head: { label: pr.head.label, ref: pr.head.ref, sha: pr.head.sha },
      base: { label: pr.base.label, ref: pr.base.ref, sha: pr.base.sha },
      created_at: pr.created_at, updated_at: pr.updated_at, draft: pr.draft, additions: pr.additions, deletions: pr.deletions, changed_files: pr.changed_files,
    },
    repository: { id: opened.repository.id, name: opened.repository.name, full_name: opened.repository.full_name, private: opened.repository.private, html_url: opened.repository.html_url, default_branch: opened.repository.default_branch },
    sender: { login: opened.sender.login, id: opened.sender.id, type: opened.sender.type },
  };
  const size = Buffer.byteLength(JSON.stringify(payload));
  if (size < TARGET_BYTES) payload.pull_request.body += ' '.padEnd(TARGET_BYTES - size, 'x');
  return JSON.stringify(payload);
}

function load(url, body, headersFor) {
  let counter = 0;
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url,
        connections: CONNECTIONS,
        duration: DURATION_S,
        method: 'POST',
        body,
        requests: [{ setupRequest: (request) => ({ ...request, headers: { ...request.headers, ...headersFor(counter++) } }) }],
      },
      (error, result) => (error ? reject(error) : resolve(result)),
    );
  });
}

/** CPU time (user + system) a process has used, in ms (Linux; clock ticks of 10 ms). */
function cpuMs(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** The load, with the CPU time the serving process spent per answered request: on a shared machine the wall clock says how busy the neighbours were, the CPU time where the work goes. */
async function measure(pid, url, body, headersFor) {
  const before = cpuMs(pid);
  const result = await load(url, body, headersFor);
  return { ...summary(result), cpuMicrosPerRequest: Math.round(((cpuMs(pid) - before) * 1000) / Math.max(1, result.requests.total)) };
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : Number(((sorted[middle - 1] + sorted[middle]) / 2).toFixed(3));
};

const summary = (result) => ({ requestsPerSecond: Math.round(result.requests.average), p99Ms: result.latency.p99, errors: result.errors, non2xx: result.non2xx, total: result.requests.total });

export const webhooks = {
  name: 'webhooks',
  async run() {
    return withTempDir(async (temp) => {
      const body = pullRequestPayload();
      const bare = await startProcess(['bench/bare-accept-server.mjs'], {});
      const agented = await startProcess([...AGENTED_NODE_ARGS, path.join(process.env.BENCH_AGENTED_DIST ?? 'dist', 'main', 'cli.js'), 'serve', '--port', '0'], {
        HOME: temp, AGENTED_API_KEY: KEY, AGENTED_DATA_DIR: `${temp}/data`, AGENTED_LOG_DIR: `${temp}/logs`, AGENTED_LOG_STDOUT: '0',
        // The executions really start (the queue is live), and run as long as agents do: the rest stay queued.
        AGENTED_CLAUDE_PATH: fileURLToPath(new URL('fixtures/sleeping-agent', import.meta.url)),
      });
      /** A plain server doing only this path, started once the trigger's secret is known. */
      let minimal;
      try {
        const created = await fetch(`${agented.url}/api/triggers`, {
          method: 'POST',
          headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
          body: JSON.stringify({ name: 'bench', kind: 'github', promptTemplate: 'Review "{{payload.pull_request.title}}" in {{payload.repository.full_name}}', github: { events: ['pull_request.opened'] } }),
        }).then((response) => response.json());
        const signature = `sha256=${crypto.createHmac('sha256', created.secret).update(body).digest('hex')}`;
        minimal = await startProcess([fileURLToPath(new URL('minimal-webhook-server.mjs', import.meta.url)), created.secret], {});
        // Each delivery's X-GitHub-Delivery is a GUID, as GitHub sends: its dedup key lands anywhere in the index, not after the last one.
        const github = () => ({ 'content-type': 'application/json', 'x-github-event': 'pull_request', 'x-github-delivery': crypto.randomUUID(), 'x-hub-signature-256': signature });

        const ready = await fetch(`${agented.url}/health/ready`, { headers: { authorization: `Bearer ${KEY}` } }).then((response) => response.json());
        const hooksUrl = `${agented.url}/hooks/${created.id}`;
        await load(bare.url + '/hooks/x', body, github);
        await load(minimal.url + '/hooks/x', body, github);
        await load(hooksUrl, body, github);
        // Rounds turn about: the baseline swings with the machine (17–33k/s here), so each ratio pairs neighbours in time, and the median is reported.
        const rounds = [];
        for (let round = 0; round < ROUNDS; round += 1) {
          const baseline = await measure(bare.pid, bare.url + '/hooks/x', body, github);
          const least = await measure(minimal.pid, minimal.url + '/hooks/x', body, github);
          const measured = await measure(ready.pid, hooksUrl, body, github);
          rounds.push({
            baseline,
            minimal: least,
            agented: measured,
            ratio: Number((measured.requestsPerSecond / baseline.requestsPerSecond).toFixed(3)),
            minimalRatio: Number((least.requestsPerSecond / baseline.requestsPerSecond).toFixed(3)),
            cpuRatio: Number((baseline.cpuMicrosPerRequest / measured.cpuMicrosPerRequest).toFixed(3)),
          });
        }
        const result = {
          name: 'signed GitHub deliveries (3.5 KB pull_request.opened, 50 connections): verify + dedup + persist + 202 vs bare node:http 202',
          payloadBytes: Buffer.byteLength(body),
          rounds,
          ratio: median(rounds.map((round) => round.ratio)),
          minimalRatio: median(rounds.map((round) => round.minimalRatio)),
          p99Ms: median(rounds.map((round) => round.agented.p99Ms)),
          cpuRatio: median(rounds.map((round) => round.cpuRatio)),
          target: { ratio: 0.3, p99Ms: 20 },
        };
        for (const [index, { agented: measured, baseline, minimal: least, ratio, minimalRatio, cpuRatio }] of rounds.entries()) {
          console.log(
            `round ${index + 1}: ${measured.requestsPerSecond} accepted/s (p99 ${measured.p99Ms} ms, non-2xx ${measured.non2xx}) vs ${baseline.requestsPerSecond}/s (p99 ${baseline.p99Ms} ms) → ratio ${ratio}; CPU a request ${measured.cpuMicrosPerRequest} µs (worker) vs ${baseline.cpuMicrosPerRequest} µs → ${cpuRatio}; a plain server: ${least.requestsPerSecond}/s (p99 ${least.p99Ms} ms, ${least.cpuMicrosPerRequest} µs a request) → ${minimalRatio}`,
          );
        }
        const met = result.ratio >= result.target.ratio && result.p99Ms <= result.target.p99Ms;
        console.log(`${result.name}: median of ${ROUNDS} rounds — ratio ${result.ratio}, p99 ${result.p99Ms} ms, CPU ratio ${result.cpuRatio}; target ratio ≥ 0.3, p99 ≤ 20 ms: ${met ? 'met' : 'MISSED'} (a plain server: ${result.minimalRatio})`);

        // What someone who knows a trigger's URL but not its secret can make the worker do: every
        // delivery is still verified, recorded for the inspector (and its oldest pruned), and answered 401.
        const forged = () => ({ ...github(), 'x-hub-signature-256': `sha256=${'0'.repeat(64)}` });
        const forgedBaseline = await measure(bare.pid, bare.url + '/hooks/x', body, forged);
        const forgedMeasured = await measure(ready.pid, hooksUrl, body, forged);
        const flood = {
          name: 'a flood of deliveries with a wrong signature (same payload, 50 connections): verify + record + 401 vs bare node:http 202',
          baseline: forgedBaseline,
          agented: forgedMeasured,
          ratio: Number((forgedMeasured.requestsPerSecond / forgedBaseline.requestsPerSecond).toFixed(3)),
          cpuRatio: Number((forgedBaseline.cpuMicrosPerRequest / forgedMeasured.cpuMicrosPerRequest).toFixed(3)),
        };
        console.log(
          `${flood.name}: ${forgedMeasured.requestsPerSecond} answered/s (p99 ${forgedMeasured.p99Ms} ms, 401s ${forgedMeasured.non2xx} of ${forgedMeasured.total}) vs ${forgedBaseline.requestsPerSecond}/s → ratio ${flood.ratio}; CPU a request ${forgedMeasured.cpuMicrosPerRequest} µs vs ${forgedBaseline.cpuMicrosPerRequest} µs (no target)`,
        );
        return [result, flood];
      } finally {
        await minimal?.stop();
        await agented.stop();
        await bare.stop();
      }
    });
  },
};
