import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { repoRoot } from './serve.js';

/** One GitHub delivery as GitHub would send it: the id, the exact body bytes and their signature. */
export interface GithubDelivery {
  id: string;
  number: number;
  body: Buffer;
  headers: Record<string, string>;
}

type Json = Record<string, unknown>;

function pick(source: unknown, keys: readonly string[]): Json {
  const record = source as Json;
  return Object.fromEntries(keys.filter((key) => key in record).map((key) => [key, record[key]]));
}

let template: Json | undefined;

/**
 * A real `pull_request.opened` payload from @octokit/webhooks-examples, cut
 * down to the fields an agent prompt uses, about 3.5 KB as JSON.
 */
function pullRequestOpenedTemplate(): Json {
  if (template) return template;
  const file = path.join(repoRoot, 'node_modules', '@octokit', 'webhooks-examples', 'api.github.com', 'index.json');
  const index = JSON.parse(fs.readFileSync(file, 'utf8')) as { name: string; examples: Json[] }[];
  const example = index.find((entry) => entry.name === 'pull_request')?.examples.find((candidate) => candidate.action === 'opened');
  if (!example) throw new Error('no pull_request.opened example in @octokit/webhooks-examples');
  const pr = example.pull_request as Json;
  const user = (value: unknown) => pick(value, ['login', 'id', 'node_id', 'avatar_url', 'html_url', 'type', 'site_admin']);
  const ref = (value: unknown) => ({ ...pick(value, ['label', 'ref', 'sha']), user: user((value as Json).user) });
  template = {
    action: 'opened',
    number: pr.number,
    pull_request: {
      ...pick(pr, ['url', 'id', 'node_id', 'html_url', 'diff_url', 'patch_url', 'issue_url', 'number', 'state', 'locked', 'title']),
      user: user(pr.user),
      ...pick(pr, ['body', 'created_at', 'updated_at', 'closed_at', 'merged_at', 'merge_commit_sha', 'assignee', 'assignees', 'labels']),
      head: ref(pr.head),
      base: ref(pr.base),
      ...pick(pr, ['author_association', 'draft', 'merged', 'mergeable', 'comments', 'review_comments', 'commits', 'additions', 'deletions', 'changed_files']),
    },
    repository: {
      ...pick(example.repository, ['id', 'node_id', 'name', 'full_name', 'private', 'html_url', 'description', 'fork', 'url', 'default_branch', 'visibility']),
      owner: user((example.repository as Json).owner),
    },
    sender: user(example.sender),
  };
  return template;
}

const FILLER = 'This change updates the README with new information about building, testing and releasing. ';

/** A signed `pull_request.opened` delivery for PR `number`, with a fresh X-GitHub-Delivery id. */
export function githubDelivery(secret: string, number: number, targetBytes = 3584): GithubDelivery {
  const base = pullRequestOpenedTemplate();
  const pr = base.pull_request as Json;
  const payload = { ...base, number, pull_request: { ...pr, number, title: `Update the README (#${number})`, body: '' } };
  const bare = Buffer.byteLength(JSON.stringify(payload));
  const bodyText = FILLER.repeat(Math.ceil(targetBytes / FILLER.length)).slice(0, Math.max(0, targetBytes - bare));
  payload.pull_request.body = bodyText;
  const body = Buffer.from(JSON.stringify(payload));
  const id = crypto.randomUUID();
  return { id, number, body, headers: githubHeaders(secret, id, body) };
}

export function githubHeaders(secret: string, deliveryId: string, body: Buffer): Record<string, string> {
  return {
    'content-type': 'application/json',
    'user-agent': 'GitHub-Hookshot/test',
    'x-github-event': 'pull_request',
    'x-github-delivery': deliveryId,
    'x-github-hook-id': '1',
    'x-hub-signature-256': `sha256=${crypto.createHmac('sha256', secret).update(body).digest('hex')}`,
  };
}

/** One planned request of a burst: the first send of a delivery, or a re-send of an earlier one. */
export interface PlannedSend {
  delivery: GithubDelivery;
  resend: boolean;
}

/** A deterministic PRNG (mulberry32), so a failing run can be replayed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * `total` sends of which `duplicates` re-send an earlier delivery (same id,
 * same bytes), each placed somewhere after its original in the send order.
 */
export function planBurst(secret: string, total: number, duplicates: number, seed = 1): { sends: PlannedSend[]; distinct: GithubDelivery[] } {
  const random = seededRandom(seed);
  const distinctCount = total - duplicates;
  const distinct = Array.from({ length: distinctCount }, (_unused, index) => githubDelivery(secret, index + 1));
  const placed: { at: number; send: PlannedSend }[] = distinct.map((delivery, index) => ({ at: (index / distinctCount) * total, send: { delivery, resend: false } }));
  for (let copy = 0; copy < duplicates; copy += 1) {
    const original = Math.floor(random() * distinctCount);
    const from = placed[original]!.at;
    placed.push({ at: from + 0.5 + random() * (total - from), send: { delivery: distinct[original]!, resend: true } });
  }
  placed.sort((a, b) => a.at - b.at);
  return { sends: placed.map((entry) => entry.send), distinct };
}

export interface HttpAnswer {
  status: number;
  text: string;
}

/** One POST over a (keep-alive) agent; rejects on a network error, a cut response or no answer within `timeoutMs`. */
export function postWith(agent: http.Agent, baseUrl: string, pathname: string, headers: Record<string, string>, body: Buffer, timeoutMs: number): Promise<HttpAnswer> {
  return sendWith(agent, baseUrl, { method: 'POST', path: pathname, headers: { ...headers, 'content-length': String(body.length) }, body }, timeoutMs);
}

export function getWith(agent: http.Agent, baseUrl: string, pathname: string, headers: Record<string, string>, timeoutMs = 10_000): Promise<HttpAnswer> {
  return sendWith(agent, baseUrl, { method: 'GET', path: pathname, headers }, timeoutMs);
}

function sendWith(
  agent: http.Agent,
  baseUrl: string,
  options: { method: string; path: string; headers: Record<string, string>; body?: Buffer },
  timeoutMs: number,
): Promise<HttpAnswer> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, method: options.method, path: options.path, headers: options.headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
      res.on('close', () => {
        if (!res.complete) reject(new Error('the response was cut off'));
      });
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(options.body);
  });
}

export interface SendOutcome {
  send: PlannedSend;
  /** The final status: 0 when no answer came (retries off, or the deadline passed). */
  status: number;
  json: Json | undefined;
  /** Requests made for this send (1 = answered first time). */
  attempts: number;
  /** Why the failed attempts failed (error message or status). */
  failures: string[];
}

export interface BurstOptions {
  baseUrl: string;
  path: string;
  agent: http.Agent;
  parallel: number;
  /** Retry the same request on network errors, timeouts and 5xx, with a short backoff, until answered or `deadlineMs` passed. */
  retry: boolean;
  timeoutMs?: number;
  deadlineMs?: number;
  /** Called after each final answer with the number answered so far. */
  onAnswer?: (answered: number, outcome: SendOutcome) => void;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Sends every planned request from `parallel` lanes that share one agent
 * (so each lane keeps its connection alive). Outcomes are in plan order.
 */
export async function runBurst(sends: readonly PlannedSend[], options: BurstOptions): Promise<{ outcomes: SendOutcome[]; elapsedMs: number }> {
  const timeoutMs = options.timeoutMs ?? 5_000;
  const started = Date.now();
  const deadline = started + (options.deadlineMs ?? 60_000);
  const outcomes: SendOutcome[] = new Array<SendOutcome>(sends.length);
  let next = 0;
  let answered = 0;

  const sendOne = async (send: PlannedSend): Promise<SendOutcome> => {
    const failures: string[] = [];
    for (let attempt = 1; ; attempt += 1) {
      let answer: HttpAnswer | undefined;
      try {
        answer = await postWith(options.agent, options.baseUrl, options.path, send.delivery.headers, send.delivery.body, timeoutMs);
      } catch (error) {
        failures.push((error as NodeJS.ErrnoException).code ?? (error as Error).message);
      }
      if (answer && (answer.status < 500 || !options.retry)) {
        let json: Json | undefined;
        try {
          json = JSON.parse(answer.text) as Json;
        } catch {
          json = undefined;
        }
        return { send, status: answer.status, json, attempts: attempt, failures };
      }
      if (answer) failures.push(`HTTP ${answer.status}`);
      if (!options.retry || Date.now() > deadline) return { send, status: 0, json: undefined, attempts: attempt, failures };
      await sleep(Math.min(20 * 2 ** (attempt - 1), 250) + Math.random() * 20);
    }
  };

  const lane = async () => {
    while (next < sends.length) {
      const index = next;
      next += 1;
      const outcome = await sendOne(sends[index]!);
      outcomes[index] = outcome;
      answered += 1;
      options.onAnswer?.(answered, outcome);
    }
  };
  await Promise.all(Array.from({ length: options.parallel }, lane));
  return { outcomes, elapsedMs: Date.now() - started };
}
