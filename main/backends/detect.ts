import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { BackendStatus } from '../../common/backends.js';
import type { Backend } from '../../common/triggers.js';
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
    if (!dir) continue;
    const candidate = path.join(dir, command);
    if (isExecutable(candidate)) return candidate;
  }
  return null;
}

/** First line of `<cli> --version`, or why it failed. Runs with a timeout and no shell. */
function readVersion(executable: string, env: Env, searchPath: string, timeoutMs: number): Promise<{ version: string } | { error: string }> {
  return new Promise((resolve) => {
    execFile(executable, ['--version'], { timeout: timeoutMs, env: { ...env, PATH: searchPath }, maxBuffer: 64 * 1024 }, (error, stdout, stderr) => {
      const first = `${stdout}`.trim().split('\n')[0]?.trim() ?? '';
      if (error) {
        const reason = error.killed ? `timed out after ${timeoutMs} ms` : (`${stderr}`.trim().split('\n')[0] || error.message);
        resolve({ error: reason });
      } else {
        resolve(first ? { version: first } : { error: 'printed no version' });
      }
    });
  });
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
  const version = await readVersion(executable, options.env, options.searchPath, options.versionTimeoutMs ?? 20_000);
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
