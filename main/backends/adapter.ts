import type { z } from 'zod';
import type { AgentEvent } from '../../common/executions.js';
import type { Backend, PermissionMode } from '../../common/triggers.js';

/** Everything an adapter needs to start its CLI for one execution. */
export interface Invocation {
  /**
   * The rendered prompt, passed as argv (never through a shell) — one element,
   * except for OpenCode, whose `run` re-joins its words itself (see its adapter).
   */
  prompt: string;
  /** The trigger's model, or null for the CLI's default. */
  model: string | null;
  permissionMode: PermissionMode;
  /** Absolute path; the process runs there. */
  workingDirectory: string;
  /** The environment the CLI will inherit (the worker's, with the login shell's PATH and the account's variables). */
  env: Readonly<Record<string, string | undefined>>;
}

/** How to start the CLI: arguments after the executable, and variables to add to (or, when undefined, remove from) its environment. */
export interface CommandLine {
  args: string[];
  env: Record<string, string | undefined>;
}

/**
 * Reads one CLI's output. Stateful (some CLIs spread one fact over several
 * lines, such as a tool call's id and its result); one parser per execution.
 */
export interface OutputParser {
  /**
   * The normalized events one stdout line means: none for a line that is not
   * JSON or not an event Agented knows (the raw line is kept anyway). Never throws.
   */
  parseLine(line: string): AgentEvent[];
}

/** One agent CLI, as the runner sees it. */
export interface BackendAdapter {
  readonly backend: Backend;
  commandLine(invocation: Invocation): CommandLine;
  createParser(): OutputParser;
}

/**
 * How an execution ended, from what the CLI said and how it exited. A CLI's own
 * error result wins over its exit status (Claude Code can exit 0 after
 * reporting `is_error: true`); a result that says ok with a non-zero exit is a
 * failure too.
 */
export function outcomeOf(events: readonly AgentEvent[], exit: { code: number | null; signal: NodeJS.Signals | null }): { ok: boolean; reason: string | null } {
  const result = [...events].reverse().find((event) => event.type === 'result');
  const lastError = [...events].reverse().find((event) => event.type === 'error');
  if (exit.signal) return { ok: false, reason: `the CLI was ended by ${exit.signal}` };
  if (result && !result.ok) return { ok: false, reason: lastError?.message ?? result.text ?? 'the CLI reported an error' };
  if (exit.code !== 0) return { ok: false, reason: lastError?.message ?? `the CLI exited with code ${exit.code}` };
  if (!result && lastError) return { ok: false, reason: lastError.message };
  return { ok: true, reason: null };
}

/**
 * One line of a CLI's JSON output as one of the events its schema knows, or
 * undefined: a line that is not JSON (a stray print) or an event this
 * version does not know is kept only as its raw line, never an error.
 */
export function knownEvent<T>(line: string, schema: z.ZodType<T>): T | undefined {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch {
    return undefined;
  }
  const event = schema.safeParse(json);
  return event.success ? event.data : undefined;
}

/**
 * An instant (ms since the epoch) as ISO 8601 text, or null when it is no date
 * JavaScript can hold: a reset time read from a CLI's output ("try again in
 * 99999999999 days", `retry-after-ms: 1e20`) must not throw in its parser.
 */
export function isoTime(ms: number): string | null {
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}
