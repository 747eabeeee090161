import fs from 'node:fs';
import path from 'node:path';
import type { BackendStatus } from '../../common/backends.js';
import type { Backend } from '../../common/triggers.js';
import { childEnvironment } from '../executions/agent-process.js';
import { spawnGroup, type GroupJournal } from '../executions/process-group.js';
import { backendCatalog, type BackendSpec } from './catalog.js';

type Env = Readonly<Record<string, string | undefined>>;

export interface DetectOptions {
  /** The environment the CLIs will run with (credentials are looked up here). */
  env: Env;
  /** PATH to search (the login shell's, see loginShellPath). */
  searchPath: string;
  /** Executable paths set in settings, per backend; they win over the PATH search. */
  overrides?: Partial<Record<Backend, string>>;
  /** How long each `<cli> --version` may take (DEFAULT_VERSION_TIMEOUT_MS); its process group is killed then. */
  versionTimeoutMs?: number;
  /** Ends the `--version` runs still going (the worker is stopping). */
  signal?: AbortSignal;
  /** Where the worker writes down each `--version` while it runs, for the next worker to end it should this one be killed. */
  journal?: GroupJournal;
}

/**
 * How long `<cli> --version` may take. Generous on purpose: npm-installed CLIs
 * start through node (and some through an npm/npx wrapper that resolves the
 * package first), which on a cold disk cache or a busy machine takes seconds,
 * and one cut short shows as broken ("timed out"), a worse error than a slow
 * check. The server never waits for it after the first check (BackendHealth
 * serves the last result and refreshes in the background); `agented doctor`
 * does, once, for all CLIs in parallel. AGENTED_VERSION_TIMEOUT_MS changes it.
 */
export const DEFAULT_VERSION_TIMEOUT_MS = 20_000;
/** How long a `--version` that has to be stopped gets after each signal (SIGINT, then SIGTERM) before SIGKILL. */
const VERSION_STOP_GRACE_MS = 500;
const VERSION_OUTPUT_LIMIT = 64 * 1024;
/** The longest version (or excerpt of what a CLI printed) shown, in characters. */
export const VERSION_TEXT_LIMIT = 100;
/** What a version has somewhere: `2.1.3`, `v0.17`, `1.18.33-beta`… */
const VERSION_LIKE = /\d+\.\d+/;

/* eslint-disable no-control-regex -- finding control characters is the point */
/**
 * Terminal escape sequences: CSI (colours, cursor moves; ESC [ or the C1 CSI),
 * OSC (titles, hyperlinks; ended by BEL or ST), DCS/SOS/PM/APC strings (an
 * unterminated one up to the end of its line), and
 * the two- or three-byte ones (ESC 7, ESC ( B…).
 */
const ESCAPE_SEQUENCE =
  /(?:\u001b\[|\u009b)[0-?]*[ -/]*[@-~]?|(?:\u001b\]|\u009d)[^\u0007\u001b\u009c\n]*(?:\u0007|\u001b\\|\u009c)?|(?:\u001b[PX^_]|[\u0090\u0098\u009e\u009f])[^\u001b\u009c\n]*(?:\u001b\\|\u009c)?|\u001b[ -/]*[0-~]?/g;
/** C0 and C1 control characters and DEL (line breaks and tabs are handled before), and the invisible formatting characters (bidi overrides, zero-width) that can disguise text. */
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/g;
/* eslint-enable no-control-regex */

/**
 * The first line of what a CLI printed that shows anything, made safe to show
 * in a terminal or a page: escape sequences and control characters removed,
 * what a carriage return overwrote dropped, whitespace collapsed, at most
 * VERSION_TEXT_LIMIT characters ("…" when cut).
 */
export function cleanOutputLine(output: string): string {
  for (const rawLine of output.replace(ESCAPE_SEQUENCE, '').split('\n')) {
    // A terminal shows what came after the last carriage return (progress output redraws the line).
    const shown = rawLine.split('\r').filter((part) => part.trim() !== '').at(-1) ?? '';
    const line = shown.replace(/\t/g, ' ').replace(CONTROL_CHARACTER, '').replace(/\s+/g, ' ').trim();
    if (line === '') continue;
    const characters = Array.from(line);
    return characters.length <= VERSION_TEXT_LIMIT ? line : `${characters.slice(0, VERSION_TEXT_LIMIT - 1).join('').trimEnd()}…`;
  }
  return '';
}

export function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

export function findExecutable(command: string, searchPath: string): string | null {
  for (const dir of searchPath.split(path.delimiter)) {
    // An empty or relative entry names a folder of whatever directory the lookup runs in: the worker's here, but an execution runs the CLI from its working directory.
    if (!path.isAbsolute(dir)) continue;
    const candidate = path.join(dir, command);
    if (isExecutable(candidate)) return candidate;
  }
  return null;
}

/**
 * First line of `<cli> --version`, cleaned (cleanOutputLine), when it looks
 * like a version; else that line as `noVersion`, or why it failed. Runs without a shell,
 * in a process group of its own, like an execution: a CLI that hangs, ignores
 * SIGTERM or leaves a child behind is ended whole (SIGINT, SIGTERM, SIGKILL)
 * at the timeout or when the check is aborted — a plain execFile signalled
 * only the CLI itself and, for one that ignored it, never returned and
 * orphaned its tree when the worker exited. It gets the environment an
 * execution gets (no AGENTED_* variable: the API key must never reach a CLI).
 */
async function readVersion(
  executable: string,
  env: Env,
  searchPath: string,
  timeoutMs: number,
  signal?: AbortSignal,
  journal?: GroupJournal,
): Promise<{ version: string } | { error: string } | { noVersion: string }> {
  if (signal?.aborted) return { error: 'the check was stopped' };
  const group = spawnGroup([executable, '--version'], { env: childEnvironment(env, { PATH: searchPath }), journal });
  let stdout = '';
  let stderr = '';
  group.child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    if (stdout.length < VERSION_OUTPUT_LIMIT) stdout += chunk;
  });
  group.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    if (stderr.length < VERSION_OUTPUT_LIMIT) stderr += chunk;
  });
  let stopped: 'timeout' | 'aborted' | undefined;
  const stop = (why: 'timeout' | 'aborted') => {
    stopped ??= why;
    void group.stop({ graceMs: VERSION_STOP_GRACE_MS });
  };
  const timer = setTimeout(() => stop('timeout'), timeoutMs);
  const onAbort = () => stop('aborted');
  signal?.addEventListener('abort', onAbort, { once: true });
  let exit: { code: number | null; signal: NodeJS.Signals | null };
  try {
    exit = await group.exited;
  } catch (error) {
    return { error: (error as Error).message };
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
  // Whatever it started ends with it (and lets go of the pipes), then what is still in the pipes is read.
  await group.stop({ graceMs: VERSION_STOP_GRACE_MS });
  await group.closeOutput();
  if (stopped === 'timeout') return { error: `timed out after ${timeoutMs} ms` };
  if (stopped === 'aborted') return { error: 'the check was stopped' };
  if (exit.code !== 0) return { error: cleanOutputLine(stderr) || `exited with ${exit.signal ?? `code ${exit.code}`}` };
  // Exit 0 proves little (a wrapper script, a crash handler, a page of HTML): a version has a number in it.
  const first = cleanOutputLine(stdout);
  return VERSION_LIKE.test(first) ? { version: first } : { noVersion: first };
}

function credentials(spec: BackendSpec, env: Env): string | null {
  const variable = spec.apiKeyVariables.find((name) => (env[name] ?? '').trim() !== '');
  if (variable) return variable;
  return spec.credentialFiles(env).find((file) => fs.existsSync(file)) ?? null;
}

async function detectOne(spec: BackendSpec, options: DetectOptions): Promise<BackendStatus> {
  const override = options.overrides?.[spec.name];
  const executable = override ? (isExecutable(override) ? override : null) : findExecutable(spec.command, options.searchPath);
  const authSource = credentials(spec, options.env);
  const status: BackendStatus = { name: spec.name, installed: false, path: executable, version: null, authenticated: authSource !== null, authSource, usable: false, hint: null };
  if (!executable) {
    status.hint = override
      ? `the configured path ${override} is not an executable file; fix AGENTED_${spec.name.toUpperCase()}_PATH or remove it`
      : `install it: npm install -g ${spec.npmPackage}`;
    return status;
  }
  status.installed = true;
  const version = await readVersion(executable, options.env, options.searchPath, options.versionTimeoutMs ?? DEFAULT_VERSION_TIMEOUT_MS, options.signal, options.journal);
  if ('error' in version) {
    status.hint = `\`${executable} --version\` failed (${version.error}); reinstall it: npm install -g ${spec.npmPackage}`;
    return status;
  }
  if ('noVersion' in version) {
    const printed = version.noVersion ? `it printed "${version.noVersion}"` : 'it printed nothing';
    status.hint = `\`${executable} --version\` printed no version (${printed}); check that ${executable} is ${spec.command}, or reinstall it: npm install -g ${spec.npmPackage}`;
    return status;
  }
  status.version = version.version;
  if (!status.authenticated) {
    status.hint = spec.loginHint;
    return status;
  }
  status.usable = true;
  return status;
}

/** The CLI health checklist: every backend, checked in parallel. */
export function detectBackends(options: DetectOptions): Promise<BackendStatus[]> {
  return Promise.all(backendCatalog.map((spec) => detectOne(spec, options)));
}
