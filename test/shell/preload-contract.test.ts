import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { preloadChannels, ServerState, type AgentedPreloadApi } from '../../common/preload-api.js';
import type { SupervisorState } from '../../main/supervisor/supervisor.js';
import { createIpcHandlers, toServerState } from '../../main/shell/ipc-handlers.js';
import type { registerIpcHandlers } from '../../main/shell/ipc.js';
import { Logger } from '../../main/telemetry/logger.js';
import { repoRoot } from '../helpers/serve.js';
import { makeTempDir } from '../helpers/temp.js';
import { loadCommonJs } from './bundle.js';

const workerOrigin = 'http://127.0.0.1:8787';
const running: SupervisorState = { status: 'running', url: `${workerOrigin}/`, port: 8787, pid: 4242, restarts: 1 };
const handlers = createIpcHandlers({ supervisorState: () => running, appVersion: '1.2.3' });

const sorted = (values: Iterable<string>) => [...values].sort();

describe('the preload channel list', () => {
  it('names every channel agented:<namespace>:<method>', () => {
    expect(preloadChannels.length).toBeGreaterThan(0);
    for (const channel of preloadChannels) expect(channel).toMatch(/^agented:[a-z]+:[a-z]+$/);
    expect(new Set(preloadChannels).size).toBe(preloadChannels.length);
  });

  it('has one main-side handler per channel, and no other', () => {
    expect(sorted(Object.keys(handlers))).toEqual(sorted(preloadChannels));
  });
});

describe('the bundled preload (dist/preload/index.cjs)', () => {
  const temp = makeTempDir('agented-preload-');
  let code: string;
  let api: AgentedPreloadApi;
  let exposed: Map<string, unknown>;
  let invoked: { channel: string; args: unknown[] }[];
  let required: string[];

  beforeAll(async () => {
    const outfile = path.join(temp.dir, 'index.cjs');
    await promisify(execFile)(process.execPath, [path.join(repoRoot, 'scripts', 'build-preload.mjs'), '--outfile', outfile]);
    code = fs.readFileSync(outfile, 'utf8');
    exposed = new Map();
    invoked = [];
    const electron = {
      contextBridge: { exposeInMainWorld: (key: string, value: unknown) => exposed.set(key, value) },
      ipcRenderer: {
        // Answers as main would: through the real handlers.
        invoke: async (channel: string, ...args: unknown[]) => {
          invoked.push({ channel, args });
          const handler = (handlers as Record<string, (() => unknown) | undefined>)[channel];
          if (!handler) throw new Error(`No handler registered for '${channel}'`);
          return handler();
        },
      },
    };
    const loaded = loadCommonJs(code, outfile, { electron });
    required = loaded.required;
    api = exposed.get('agented') as AgentedPreloadApi;
  });
  afterAll(() => temp.remove());

  it('is CommonJS that requires nothing but electron, as a sandboxed preload must', () => {
    expect(code).not.toMatch(/^\s*(import|export)\s/m);
    expect(new Set(required)).toEqual(new Set(['electron']));
  });

  it('exposes one global, window.agented, and not ipcRenderer', () => {
    expect([...exposed.keys()]).toEqual(['agented']);
    const flat = JSON.stringify(Object.keys(api));
    expect(flat).not.toMatch(/ipc|invoke|send/i);
  });

  it('maps api.<namespace>.<method>() to exactly the channel agented:<namespace>:<method>, without arguments', async () => {
    const methods: string[] = [];
    for (const [namespace, members] of Object.entries(api as unknown as Record<string, Record<string, unknown>>)) {
      for (const [method, value] of Object.entries(members)) {
        expect(typeof value).toBe('function');
        invoked.length = 0;
        await (value as () => Promise<unknown>)();
        expect(invoked).toEqual([{ channel: `agented:${namespace}:${method}`, args: [] }]);
        methods.push(`agented:${namespace}:${method}`);
      }
    }
    expect(sorted(methods)).toEqual(sorted(preloadChannels));
  });

  it('returns what main answers, parsed against the contract', async () => {
    await expect(api.server.state()).resolves.toEqual({ status: 'running', url: `${workerOrigin}/`, port: 8787, restarts: 1 });
    await expect(api.app.version()).resolves.toBe('1.2.3');
  });
});

describe('main-side IPC (main/shell/ipc.ts)', () => {
  type Handler = (event: unknown, ...args: unknown[]) => unknown;
  const registered = new Map<string, Handler>();
  const logLines: string[] = [];
  let dispose: () => void | Promise<void>;

  beforeAll(async () => {
    const result = await build({
      entryPoints: [path.join(repoRoot, 'main', 'shell', 'ipc.ts')],
      bundle: true,
      write: false,
      format: 'cjs',
      platform: 'node',
      target: 'node20',
      external: ['electron'],
    });
    const ipcMain = {
      handle: (channel: string, handler: Handler) => {
        // Electron refuses a second handler for a channel; so does the stand-in.
        if (registered.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`);
        registered.set(channel, handler);
      },
      removeHandler: (channel: string) => registered.delete(channel),
    };
    const loaded = loadCommonJs(result.outputFiles[0]!.text, 'ipc.cjs', { electron: { ipcMain } });
    const register = loaded.exports.registerIpcHandlers as typeof registerIpcHandlers;
    const logger = Logger.create({ sink: { write: (_level, line) => logLines.push(line) } });
    dispose = register({ handlers, workerOrigin: () => workerOrigin, logger }).dispose;
  });

  const call = (channel: string, senderFrame: { url: string; parent: object | null } | null) =>
    Promise.resolve().then(() => registered.get(channel)!({ senderFrame }));

  it('handles exactly the preload channels', () => {
    expect(sorted(registered.keys())).toEqual(sorted(preloadChannels));
  });

  it('answers the top frame of a page from the worker', async () => {
    const top = { url: `${workerOrigin}/executions`, parent: null };
    await expect(call('agented:server:state', top)).resolves.toEqual(toServerState(running));
    await expect(call('agented:app:version', top)).resolves.toBe('1.2.3');
  });

  it.each([
    ['another origin', { url: 'https://example.com/', parent: null }],
    ['another port on the same host', { url: 'http://127.0.0.1:8788/', parent: null }],
    ['a look-alike host', { url: 'http://127.0.0.1:8787.evil.test/', parent: null }],
    ['a file: page', { url: 'file:///tmp/index.html', parent: null }],
    ['a subframe of the worker page', { url: `${workerOrigin}/`, parent: {} }],
    ['a frame that is gone', null],
  ])('refuses %s', async (_name, frame) => {
    for (const channel of preloadChannels) await expect(call(channel, frame)).rejects.toThrow(/sender not allowed/);
    expect(logLines.at(-1)).toMatch(/untrusted sender/);
  });

  it('removes its handlers on dispose', async () => {
    await dispose();
    expect(registered.size).toBe(0);
  });
});

describe('the server state the renderer sees', () => {
  it.each<SupervisorState>([
    { status: 'stopped' },
    { status: 'starting', restarts: 0 },
    running,
    { status: 'restarting', reason: 'exited with code 1', delayMs: 400, restarts: 2 },
    { status: 'stopping' },
    { status: 'stopping', policy: 'finish', executions: 2 },
    { status: 'crashed', reason: 'ERR_CONFIG: bad port' },
  ])('$status matches the contract and carries no process id', (state) => {
    const shown = toServerState(state);
    expect(ServerState.parse(shown)).toEqual(shown);
    expect(shown.status).toBe(state.status);
    expect(shown).not.toHaveProperty('pid');
  });
});
