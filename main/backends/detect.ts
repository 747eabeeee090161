import fs from 'node:fs';
import path from 'node:path';
import type { BackendStatus } from '../../common/backends.js';
import type { Backend } from '../../common/triggers.js';
import { childEnvironment } from '../executions/agent-process.js';
import { spawnGroup } from '../executions/process-group.js';
import { backendCatalog, type BackendSpec } from './catalog.js';

type Env = Readonly<Record<string, string | undefined>>;

export interface DetectOptions {
  /** The environment the CLIs will run with (credentials are looked up here). */
  env: Env;
  /** PATH to search (the login shell's, see loginShellPath). */
  searchPath: string;
  /** Executable paths set in settings, per backend; they win over the PATH search. */
  overrides?: Partial<Record<Backend, string>>;
  versionTimeoutMs?: number;
  /** Ends the `--version` runs still going (the worker is stopping). */
  signal?: AbortSignal;
}

/** How long a `--version` that has to be stopped gets after each signal (SIGINT, then SIGTERM) before SIGKILL. */
const VERSION_STOP_GRACE_MS = 500;
const VERSION_OUTPUT_LIMIT = 64 * 1024;

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
    if (!dir) continue;
    const candidate = path.join(dir, command);
    if (isExecutable(candidate)) return candidate;
  }
  return null;
}

/**
 * First line of `<cli> --version`, or why it failed. Runs without a shell,
 * in a process group of its own, like an execution: a CLI that hangs, ignores
 * SIGTERM or leaves a child behind is ended whole (SIGINT, SIGTERM, SIGKILL)
 * at the timeout or when the check is aborted — a plain execFile signalled
 * only the CLI itself and, for one that ignored it, never returned and
 * orphaned its tree when the worker exited. It gets the environment an
 * execution gets (no AGENTED_* variable: the API key must never reach a CLI).
 */
async function readVersion(executable: string, env: Env, searchPath: string, timeoutMs: number, signal?: AbortSignal): Promise<{ version: string } | { error: string }> {
  if (signal?.aborted) return { error: 'the check was stopped' };
  const group = spawnGroup([executable, '--version'], { env: childEnvironment(env, { PATH: searchPath }) });
  let stdout = '';
  let stderr = '';
  group.child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    if (stdout.length < VERSION_OUTPUT_LIMIT) stdout += chunk;
  });
  group.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    if (stderr.length < VERSION_OUTPUT_LIMIT) stderr += chunk;
  });
  const outputRead = new Promise<void>((resolve) => {
    group.child.once('close', () => resolve());
    group.child.once('error', () => resolve());
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
  await outputRead;
  if (stopped === 'timeout') return { error: `timed out after ${timeoutMs} ms` };
  if (stopped === 'aborted') return { error: 'the check was stopped' };
  const first = stdout.trim().split('\n')[0]?.trim() ?? '';
  if (exit.code !== 0) return { error: stderr.trim().split('\n')[0] || `exited with ${exit.signal ?? `code ${exit.code}`}` };
  return first ? { version: first } : { error: 'printed no version' };
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
  const version = await readVersion(executable, options.env, options.searchPath, options.versionTimeoutMs ?? 20_000, options.signal);
  if ('error' in version) {
    status.hint = `\`${executable} --version\` failed (${version.error}); reinstall it: npm install -g ${spec.npmPackage}`;
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
