import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { RunningTokens, UsageFileSource } from '../../executions/usage-file.js';

/**
 * `codex exec --json` prints usage only in `turn.completed`, at the end of
 * its one turn. Its session rollout — `$CODEX_HOME/sessions/YYYY/MM/DD/
 * rollout-<time>-<thread id>.jsonl`, one JSON line per item, written as the
 * session goes (codex-rs/core/src/rollout) — has an `event_msg` of type
 * `token_count` after every API call, whose `info.total_token_usage` is the
 * session's running total (the same figures `turn.completed` reports at the
 * end). The thread id comes first on stdout (`thread.started`), so the file
 * is found by name in the newest day folders, never guessed from timing: two
 * runs sharing a CODEX_HOME never read each other's. Agented only reads it;
 * the file is Codex's own (its history), there whether Agented reads it or not.
 */
const THREAD_ID = /^[0-9a-z][0-9a-z-]{7,63}$/i;

function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : 0;
}

/** The session's tokens so far from one rollout line, or null for any other line. */
export function tokenCountTokens(line: string): RunningTokens | null {
  // Most lines are items (messages, tool output, some very long): only token counts are parsed.
  if (!line.includes('"token_count"')) return null;
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch {
    return null;
  }
  const entry = typeof json === 'object' && json !== null ? (json as { type?: unknown; payload?: { type?: unknown; info?: { total_token_usage?: unknown } | null } }) : {};
  if (entry.type !== 'event_msg' || entry.payload?.type !== 'token_count') return null;
  const total = entry.payload.info?.total_token_usage;
  if (typeof total !== 'object' || total === null) return null;
  const usage = total as Record<string, unknown>;
  return { inputTokens: count(usage.input_tokens), outputTokens: count(usage.output_tokens) };
}

/** The thread id of a `thread.started` line, or null. */
export function threadIdOf(line: string): string | null {
  if (!line.includes('"thread.started"')) return null;
  try {
    const json = JSON.parse(line) as { type?: unknown; thread_id?: unknown };
    return json.type === 'thread.started' && typeof json.thread_id === 'string' && THREAD_ID.test(json.thread_id) ? json.thread_id : null;
  } catch {
    return null;
  }
}

/** The newest entries of a folder by name (the rollout folders are named by date, zero-padded). */
function newest(dir: string, take: number): string[] {
  try {
    return fs
      .readdirSync(dir)
      .filter((name) => /^\d+$/.test(name))
      .sort()
      .slice(-take)
      .map((name) => path.join(dir, name));
  } catch {
    return [];
  }
}

/**
 * The rollout of `threadId` in the two newest day folders: the session began
 * moments ago, so it is in the newest one or, around midnight, the one before.
 */
export function findRollout(sessionsDir: string, threadId: string): string | null {
  const days = newest(sessionsDir, 2)
    .flatMap((year) => newest(year, 2))
    .flatMap((month) => newest(month, 2))
    .sort()
    .slice(-2)
    .reverse();
  for (const day of days) {
    let names: string[];
    try {
      names = fs.readdirSync(day);
    } catch {
      continue;
    }
    const name = names.find((entry) => entry.startsWith('rollout-') && entry.endsWith(`-${threadId}.jsonl`));
    if (name) return path.join(day, name);
  }
  return null;
}

export const codexUsageFile: UsageFileSource = {
  attempt: ({ env }) => {
    const sessionsDir = path.join(env.CODEX_HOME || path.join(env.HOME || os.homedir(), '.codex'), 'sessions');
    let threadId: string | null = null;
    return {
      env: {},
      stdoutLine: (line) => {
        threadId ??= threadIdOf(line);
      },
      file: () => (threadId === null ? null : findRollout(sessionsDir, threadId)),
      recordEnd: '\n',
      // A token count line is well under 1 KiB; tool output and instructions lines can be megabytes, and are skipped.
      maxRecordBytes: 64 * 1024,
      usageOf: tokenCountTokens,
    };
  },
};
