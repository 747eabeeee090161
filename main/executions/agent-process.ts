import fs from 'node:fs';
import type { Readable } from 'node:stream';
import type { AgentEvent } from '../../common/executions.js';
import { outcomeOf, type BackendAdapter, type Invocation } from '../backends/adapter.js';
import { spawnGroup, type StopPolicy } from './process-group.js';

export type OutputStream = 'stdout' | 'stderr';

export interface AgentProcessOptions {
  /** Absolute path of the CLI (resolved with the login shell's PATH or set in settings). */
  executable: string;
  adapter: BackendAdapter;
  invocation: Invocation;
  /** Every output line, in order, with what it means (stderr lines are never parsed). Called synchronously as lines arrive. */
  onLine(stream: OutputStream, text: string, events: AgentEvent[]): void;
  /** The credentials the CLI was given: a line too long to hand on whole is masked where it is cut (see readLines). */
  mask?: PieceMask;
}

/** Masks credentials in a text; `reach` is the length of the longest form one takes. */
export interface PieceMask {
  scrub(text: string): string;
  readonly reach: number;
}

export interface AgentExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Whether the run counts as a success (see outcomeOf), and why not. */
  ok: boolean;
  reason: string | null;
  /** Whether a stop reached the CLI while it ran. A stop that comes after it exited only ends its leftovers: the outcome stands. */
  stopped: boolean;
  /**
   * Whether its stdout and stderr were closed unread: a process that left the
   * group (setsid) still held them PIPE_DRAIN_MS after the group was gone, so
   * whatever it writes later is not read.
   */
  outputCut: boolean;
  /**
   * The run's last normalized events (at most RECENT_EVENTS), in order — all
   * of an ordinary run's. A flooding run's are not all kept: they would grow
   * the heap with every line, for nothing (the log store has them).
   */
  events: AgentEvent[];
}

export interface AgentProcess {
  /** The process group id (stored, so a restarted worker can end a group left behind). */
  readonly pgid: number;
  /**
   * Resolves when the CLI has exited, no process of its group is left, and
   * its output has been read (or cut: see `outputCut`). Rejects when it could
   * not start.
   */
  readonly done: Promise<AgentExit>;
  /** SIGINT, SIGTERM, SIGKILL to the whole group, each after the grace period (joining a stop under way). */
  stop(policy: StopPolicy): Promise<void>;
}

const LEFTOVER_GRACE_MS = 1_000;
/**
 * How long the pipes may still be read once no process of the group is left.
 * What the group wrote is in the pipe by then and is read in milliseconds;
 * only a process that left the group (setsid) yet kept the CLI's stdout or
 * stderr keeps them open longer, and must not hold the execution up.
 */
export const PIPE_DRAIN_MS = 2_000;
const RECENT_EVENTS = 100;

/** Variables the worker has that an agent must never see. */
const PRIVATE_VARIABLES = /^AGENTED_/;

export function childEnvironment(base: Invocation['env'], extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(base)) {
    if (value !== undefined && !PRIVATE_VARIABLES.test(name)) env[name] = value;
  }
  for (const [name, value] of Object.entries(extra)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  return env;
}

/**
 * Characters of a stdout line handed to the parser whole. A CLI's JSON line can be long — Claude Code's
 * final result carries the whole answer, a tool call the whole file it writes — and a line cut in pieces
 * parses as nothing: its usage and result were lost. Bounded, so a CLI that never ends a line cannot
 * fill the worker's memory.
 */
const MAX_PARSED_LINE = 32 * 1024 * 1024;

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

/**
 * Splits a byte stream into lines as it arrives and hands each on at once.
 * Nothing is queued here: while the handler runs, the pipe is not read, so a
 * CLI that writes faster than lines are handled is slowed by the pipe (back
 * pressure), not buffered in memory. A partial line waits for its end, up to
 * `maxLineBytes`, past which it is handed on in pieces.
 */
export function readLines(stream: Readable, onLine: (line: string) => void, maxLineBytes = 1024 * 1024, mask?: PieceMask): Promise<void> {
  // A credential across a cut would be masked in neither piece: a piece is cut only once `reach` characters past the cut
  // have arrived, and the text around the cut is masked first — around it only, so a long line still costs linear time.
  const reach = mask?.reach ?? 0;
  return new Promise((resolve, reject) => {
    let partial = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      // Only the new chunk is searched: a long line's start, held in `partial`, is never read again until the line ends
      // (searching it again on every chunk made a 24 M-character line cost 3.8 s of the thread; now 0.06 s).
      let start = 0;
      for (let end = chunk.indexOf('\n'); end !== -1; end = chunk.indexOf('\n', start)) {
        const line = partial + chunk.slice(start, end);
        partial = '';
        onLine(line.charCodeAt(line.length - 1) === 13 ? line.slice(0, -1) : line);
        start = end + 1;
      }
      let text = partial + chunk.slice(start);
      // A `\r` left alone after a piece waits for what follows: a `\n` then ends the line, not an empty one after it.
      while (text.length > maxLineBytes + reach && !(text.length === maxLineBytes + 1 && text.endsWith('\r'))) {
        if (mask) {
          const from = Math.max(0, maxLineBytes - reach);
          const around = text.slice(from, maxLineBytes + reach);
          const masked = mask.scrub(around);
          if (masked !== around) {
            text = text.slice(0, from) + masked + text.slice(maxLineBytes + reach);
            continue;
          }
        }
        // A piece never ends between the two halves of a surrogate pair (an emoji): both would be invalid on their own.
        const cut = maxLineBytes > 1 && isHighSurrogate(text.charCodeAt(maxLineBytes - 1)) ? maxLineBytes - 1 : maxLineBytes;
        onLine(text.slice(0, cut));
        text = text.slice(cut);
      }
      partial = text;
    });
    const finish = () => {
      if (partial !== '') onLine(partial);
      partial = '';
      resolve();
    };
    stream.once('end', finish);
    // A stream destroyed before its end (its writer never closed it) only closes.
    stream.once('close', finish);
    stream.once('error', reject);
  });
}

/** Whether `reading` ends within `ms`. */
async function drained(reading: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([reading.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Bytes one argument or one environment string may have on Linux (MAX_ARG_STRLEN: 32 pages of 4 KiB).
 * Others have no such limit, only the total (ARG_MAX).
 */
const MAX_ARGUMENT_BYTES = 128 * 1024;

function stringBytes(text: string): number {
  // The terminating NUL counts.
  return Buffer.byteLength(text) + 1;
}

/**
 * Why the system refused to start the CLI, in words that say what to change:
 * its error alone ("spawn E2BIG", "spawn …/claude ENOENT" for a file that is
 * there) names neither the prompt, the variable nor the missing interpreter.
 */
function startError(error: NodeJS.ErrnoException, executable: string, args: readonly string[], env: NodeJS.ProcessEnv, invocation: Invocation): Error {
  if (error.code === 'E2BIG') {
    const promptBytes = Buffer.byteLength(invocation.prompt);
    const fix = 'shorten the trigger\'s prompt template, or lower AGENTED_PROMPT_VALUE_MAX (the characters one placeholder\'s value may add); a replay reuses this prompt and fails the same way';
    if (args.some((arg) => stringBytes(arg) > MAX_ARGUMENT_BYTES)) {
      return new Error(`the prompt is ${promptBytes} bytes, more than one command-line argument can carry (${MAX_ARGUMENT_BYTES / 1024} KiB on Linux): ${fix}`);
    }
    const variables = Object.entries(env).map(([name, value]) => ({ name, bytes: stringBytes(`${name}=${value ?? ''}`) }));
    const long = variables.find((variable) => variable.bytes > MAX_ARGUMENT_BYTES);
    if (long) {
      return new Error(`the environment variable ${long.name} is ${long.bytes - 1} bytes, more than one variable can carry (${MAX_ARGUMENT_BYTES / 1024} KiB on Linux): remove it from the environment Agented runs in`);
    }
    const argumentBytes = [executable, ...args].reduce((sum, arg) => sum + stringBytes(arg), 0);
    const environmentBytes = variables.reduce((sum, variable) => sum + variable.bytes, 0);
    return new Error(
      `the command line (${argumentBytes} bytes, the prompt ${promptBytes} of them) and the environment (${environmentBytes} bytes) are more than the system starts a program with (getconf ARG_MAX): ${fix}, or trim the environment`,
    );
  }
  if (error.code === 'ENOENT') {
    const workingDirectory = invocation.workingDirectory;
    if (!fs.existsSync(workingDirectory)) return new Error(`the working directory ${workingDirectory} no longer exists`);
    if (!fs.existsSync(executable)) return new Error(`${executable} no longer exists; install the CLI again`);
    // The file is there: what is missing is what runs it.
    const firstLine = firstLineOf(executable);
    if (firstLine.startsWith('#!')) return new Error(`its interpreter is missing: the first line, ${firstLine}, names a program that does not exist; install it, or reinstall the CLI`);
    return new Error(`a program it needs to run is missing (for a binary, its dynamic loader: built for another system?); reinstall the CLI`);
  }
  return error;
}

function firstLineOf(file: string): string {
  try {
    const start = Buffer.alloc(256);
    const fd = fs.openSync(file, 'r');
    try {
      const read = fs.readSync(fd, start, 0, start.length, 0);
      return start.subarray(0, read).toString('utf8').split('\n')[0]!.trim();
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return '';
  }
}

/** Starts one agent CLI in its own process group and reads its output line by line. */
export function startAgentProcess(options: AgentProcessOptions): AgentProcess {
  const commandLine = options.adapter.commandLine(options.invocation);
  const env = childEnvironment(options.invocation.env, commandLine.env);
  const group = spawnGroup([options.executable, ...commandLine.args], { cwd: options.invocation.workingDirectory, env });
  const parser = options.adapter.createParser();
  // What decides the outcome (the last result and the last error) is kept apart from the recent events, which may have dropped it.
  const deciding: { result?: AgentEvent; error?: AgentEvent } = {};
  let recent: AgentEvent[] = [];
  let printed = false;
  const { stdout, stderr } = group.child;
  const reading =
    stdout && stderr
      ? Promise.all([
          // Parsed whole up to MAX_PARSED_LINE: a final result that carries a long answer still counts (what is stored of it is cut).
          readLines(
            stdout,
            (line) => {
              const parsed = parser.parseLine(line);
              for (const event of parsed) {
                if (event.type === 'result') deciding.result = event;
                else if (event.type === 'error') deciding.error = event;
                recent.push(event);
              }
              if (recent.length >= 2 * RECENT_EVENTS) recent = recent.slice(-RECENT_EVENTS);
              printed = true;
              options.onLine('stdout', line, parsed);
            },
            MAX_PARSED_LINE,
            options.mask,
          ),
          readLines(
            stderr,
            (line) => {
              printed = true;
              options.onLine('stderr', line, []);
            },
            undefined,
            options.mask,
          ),
        ])
      : Promise.resolve();
  let exited = false;
  let stopped = false;
  const done = (async (): Promise<AgentExit> => {
    const exit = await group.exited.catch((error: NodeJS.ErrnoException) => {
      throw startError(error, options.executable, commandLine.args, env, options.invocation);
    });
    exited = true;
    // What the CLI started dies with it (a tool's background process would otherwise be orphaned, and keep the pipes open). A stop under way is joined, at its own grace.
    await group.stop({ graceMs: LEFTOVER_GRACE_MS });
    const outputCut = !(await drained(reading, PIPE_DRAIN_MS));
    if (outputCut) {
      stdout?.destroy();
      stderr?.destroy();
      await reading;
    }
    // Some CLIs (Gemini CLI) catch SIGINT/SIGTERM and exit 0 without a result: a stopped run never counts as a success.
    const decidingEvents = [deciding.error, deciding.result].filter((event) => event !== undefined);
    // Every agent CLI prints its events as it works: one that says nothing at all did nothing to show (a stub, a wrapper that never ran it).
    const silent = !printed && exit.code === 0;
    const outcome = stopped
      ? { ok: false, reason: 'stopped before it finished' }
      : silent
        ? { ok: false, reason: `the CLI exited 0 without any output; check that ${options.executable} is the agent CLI itself` }
        : outcomeOf(decidingEvents, exit);
    return { ...exit, ...outcome, stopped, outputCut, events: recent.slice(-RECENT_EVENTS) };
  })();
  return {
    pgid: group.pgid,
    done,
    stop: (policy) => {
      if (!exited) stopped = true;
      return group.stop(policy);
    },
  };
}
