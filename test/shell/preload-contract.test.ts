import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { externalLinkHosts } from '../../common/external-links.js';
import { CLIPBOARD_TEXT_MAX_LENGTH, preloadChannels, preloadContract, ServerState, type AgentedPreloadApi } from '../../common/preload-api.js';
import type { SupervisorState } from '../../main/supervisor/supervisor.js';
import { createIpcHandlers, toServerState } from '../../main/shell/ipc-handlers.js';
import type { desktopActions, registerIpcHandlers } from '../../main/shell/ipc.js';
import { Logger } from '../../main/telemetry/logger.js';
import { repoRoot } from '../helpers/serve.js';
import { makeTempDir } from '../helpers/temp.js';
import { loadCommonJs } from './bundle.js';
import { bundleShell, createElectronStandIn, type StandInFrame } from './electron-stand-in.js';

const workerOrigin = 'http://127.0.0.1:8787';
const running: SupervisorState = { status: 'running', url: `${workerOrigin}/`, port: 8787, pid: 4242, restarts: 1 };
/** What the preload's answers come from in the bundled-preload tests: the real handlers, recording what they did to the desktop. */
const desktop: { opened: string[]; copied: string[] } = { opened: [], copied: [] };
const handlers = createIpcHandlers({
  supervisorState: () => running,
  appVersion: '1.2.3',
  openExternal: async (url) => void desktop.opened.push(url),
  writeClipboard: (text) => void desktop.copied.push(text),
});

/** One valid argument list per channel, from the contract's point of view. */
const sampleArgs: Record<string, unknown[]> = {
  'agented:server:state': [],
  'agented:app:version': [],
  'agented:links:openExternal': ['https://github.com/agented/agented/pull/7'],
  'agented:clipboard:writeText': ['http://127.0.0.1:8787/hooks/abc'],
};

const sorted = (values: Iterable<string>) => [...values].sort();

describe('the preload channel list', () => {
  it('names every channel agented:<namespace>:<method>', () => {
    expect(preloadChannels.length).toBeGreaterThan(0);
    for (const channel of preloadChannels) expect(channel).toMatch(/^agented:[a-z]+:[a-z][a-zA-Z]*$/);
    expect(new Set(preloadChannels).size).toBe(preloadChannels.length);
  });

  it('has one main-side handler per channel, and no other', () => {
    expect(sorted(Object.keys(handlers))).toEqual(sorted(preloadChannels));
  });

  it('includes server state, opening an external link and copying to the clipboard (issue 6)', () => {
    expect(preloadChannels).toEqual(expect.arrayContaining(['agented:server:state', 'agented:links:openExternal', 'agented:clipboard:writeText']));
    expect(sorted(Object.keys(sampleArgs))).toEqual(sorted(preloadChannels));
    for (const channel of preloadChannels) expect(preloadContract[channel].args.safeParse(sampleArgs[channel]).success, channel).toBe(true);
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
          const handler = (handlers as Record<string, ((...args: unknown[]) => unknown) | undefined>)[channel];
          if (!handler) throw new Error(`No handler registered for '${channel}'`);
          return handler(...args);
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

  it('maps api.<namespace>.<method>(...args) to exactly the channel agented:<namespace>:<method>, with exactly those arguments', async () => {
    const methods: string[] = [];
    for (const [namespace, members] of Object.entries(api as unknown as Record<string, Record<string, unknown>>)) {
      for (const [method, value] of Object.entries(members)) {
        const channel = `agented:${namespace}:${method}`;
        expect(typeof value).toBe('function');
        const args = sampleArgs[channel];
        expect(args, `${channel} is in the contract`).toBeDefined();
        invoked.length = 0;
        await (value as (...args: unknown[]) => Promise<unknown>)(...args!);
        expect(invoked).toEqual([{ channel, args }]);
        methods.push(channel);
      }
    }
    expect(sorted(methods)).toEqual(sorted(preloadChannels));
  });

  it('returns what main answers, parsed against the contract', async () => {
    await expect(api.server.state()).resolves.toEqual({ status: 'running', url: `${workerOrigin}/`, port: 8787, restarts: 1 });
    await expect(api.app.version()).resolves.toBe('1.2.3');
    desktop.opened.length = 0;
    desktop.copied.length = 0;
    await expect(api.links.openExternal('https://docs.github.com/en/webhooks')).resolves.toBeUndefined();
    await expect(api.clipboard.writeText('whsec_abc')).resolves.toBeUndefined();
    expect(desktop).toEqual({ opened: ['https://docs.github.com/en/webhooks'], copied: ['whsec_abc'] });
  });
});

describe('main-side IPC (main/shell/ipc.ts)', () => {
  const logLines: string[] = [];
  const electron = createElectronStandIn();
  // What the stand-in electron's shell and clipboard were asked to do.
  const { opened, copied } = electron;
  let dispose: () => void | Promise<void>;

  beforeAll(async () => {
    const loaded = (await bundleShell(['ipc.ts'])).load(electron);
    const register = loaded.registerIpcHandlers as typeof registerIpcHandlers;
    const desktop = loaded.desktopActions as typeof desktopActions;
    const logger = Logger.create({ sink: { write: (_level, line) => logLines.push(line) } });
    // As main/shell/main.ts wires them: the real handlers, acting through electron's shell and clipboard.
    const mainHandlers = createIpcHandlers({ supervisorState: () => running, appVersion: '1.2.3', ...desktop() });
    dispose = register({ handlers: mainHandlers, workerOrigin: () => workerOrigin, logger }).dispose;
  });

  const top = { url: `${workerOrigin}/executions`, parent: null };
  const call = (channel: string, senderFrame: StandInFrame, ...args: unknown[]) => electron.ipcMain.invoke(channel, senderFrame, ...args);

  it('handles exactly the preload channels', () => {
    expect(sorted(electron.ipcMain.handlers.keys())).toEqual(sorted(preloadChannels));
  });

  it('answers the top frame of a page from the worker', async () => {
    await expect(call('agented:server:state', top)).resolves.toEqual(toServerState(running));
    await expect(call('agented:app:version', top)).resolves.toBe('1.2.3');
  });

  it('opens an allowlisted https link through shell.openExternal, and copies text through clipboard.writeText', async () => {
    opened.length = 0;
    copied.length = 0;
    await expect(call('agented:links:openExternal', top, 'https://github.com/agented/agented/pull/7')).resolves.toBeUndefined();
    await expect(call('agented:links:openExternal', top, 'https://dashboard.ngrok.com/get-started/your-authtoken')).resolves.toBeUndefined();
    await expect(call('agented:clipboard:writeText', top, 'http://127.0.0.1:8787/hooks/abc')).resolves.toBeUndefined();
    expect(opened).toEqual(['https://github.com/agented/agented/pull/7', 'https://dashboard.ngrok.com/get-started/your-authtoken']);
    expect(copied).toEqual(['http://127.0.0.1:8787/hooks/abc']);
  });

  it.each([
    ['plain http', 'http://github.com/agented/agented'],
    ['a host off the allowlist', 'https://example.com/'],
    ['a subdomain of an allowlisted host', 'https://evil.github.com/'],
    ['a look-alike host', 'https://github.com.evil.test/'],
    ['credentials before the host', 'https://github.com@evil.test/'],
    ['user info on an allowlisted host', 'https://user:pass@github.com/'],
    ['another port', 'https://github.com:8443/'],
    ['a file: URL', 'file:///etc/passwd'],
    ['a javascript: URL', 'javascript:alert(1)'],
    ['a custom scheme', 'vscode://file/etc/passwd'],
    ['not a URL', 'github.com'],
    ['an overlong URL', `https://github.com/${'a'.repeat(2048)}`],
  ])('refuses to open %s, and never calls shell.openExternal', async (_name, url) => {
    opened.length = 0;
    await expect(call('agented:links:openExternal', top, url)).rejects.toThrow(/invalid arguments/);
    expect(opened).toEqual([]);
    expect(logLines.at(-1)).toMatch(/invalid arguments/);
  });

  it.each([
    // A lenient parser (RFC 3986, as in Python's urlsplit) reads evil.test as the host here, where the allowlist read github.com.
    ['a backslash before user info', 'https://github.com\\@evil.test/', 'https://github.com/@evil.test/'],
    ['a tab inside the host', 'https://git\thub.com/agented', 'https://github.com/agented'],
    ['a newline in the path', 'https://github.com/agented\n--new-window', 'https://github.com/agented--new-window'],
    ['leading space', ' https://github.com/agented', 'https://github.com/agented'],
  ])('hands shell.openExternal the link as the allowlist read it, not as sent: %s', async (_name, sent, checked) => {
    opened.length = 0;
    await expect(call('agented:links:openExternal', top, sent)).resolves.toBeUndefined();
    expect(opened).toEqual([checked]);
  });

  it.each<[string, string, unknown[]]>([
    ['openExternal without a URL', 'agented:links:openExternal', []],
    ['openExternal with a number', 'agented:links:openExternal', [42]],
    ['openExternal with a second argument', 'agented:links:openExternal', ['https://github.com/', 'extra']],
    ['writeText without text', 'agented:clipboard:writeText', []],
    ['writeText with an object', 'agented:clipboard:writeText', [{ toString: () => 'x' }]],
    ['writeText with text past the cap', 'agented:clipboard:writeText', ['x'.repeat(CLIPBOARD_TEXT_MAX_LENGTH + 1)]],
    ['writeText with a second argument', 'agented:clipboard:writeText', ['a', 'selection']],
    ['server state with an argument', 'agented:server:state', ['x']],
  ])('refuses %s, and never touches the desktop', async (_name, channel, args) => {
    opened.length = 0;
    copied.length = 0;
    await expect(call(channel, top, ...args)).rejects.toThrow(/invalid arguments/);
    expect({ opened, copied }).toEqual({ opened: [], copied: [] });
  });

  it('copies text of exactly the cap, and keeps refused text out of the log', async () => {
    copied.length = 0;
    await expect(call('agented:clipboard:writeText', top, 'y'.repeat(CLIPBOARD_TEXT_MAX_LENGTH))).resolves.toBeUndefined();
    expect(copied.map((text) => text.length)).toEqual([CLIPBOARD_TEXT_MAX_LENGTH]);
    await expect(call('agented:clipboard:writeText', top, `whsec_secret${'z'.repeat(CLIPBOARD_TEXT_MAX_LENGTH)}`)).rejects.toThrow(/invalid arguments/);
    expect(logLines.at(-1)).not.toMatch(/whsec_secret/);
  });

  it('lists only https-reachable host names, each once', () => {
    for (const host of externalLinkHosts) expect(new URL(`https://${host}/`).hostname).toBe(host);
    expect(new Set(externalLinkHosts).size).toBe(externalLinkHosts.length);
  });

  it.each([
    ['another origin', { url: 'https://example.com/', parent: null }],
    ['another port on the same host', { url: 'http://127.0.0.1:8788/', parent: null }],
    ['a look-alike host', { url: 'http://127.0.0.1:8787.evil.test/', parent: null }],
    ['a file: page', { url: 'file:///tmp/index.html', parent: null }],
    ['a subframe of the worker page', { url: `${workerOrigin}/`, parent: {} }],
    ['a frame that is gone', null],
  ])('refuses %s', async (_name, frame) => {
    opened.length = 0;
    copied.length = 0;
    for (const channel of preloadChannels) await expect(call(channel, frame, ...sampleArgs[channel]!)).rejects.toThrow(/sender not allowed/);
    expect(logLines.at(-1)).toMatch(/untrusted sender/);
    expect({ opened, copied }).toEqual({ opened: [], copied: [] });
  });

  it('removes its handlers on dispose', async () => {
    await dispose();
    expect(electron.ipcMain.handlers.size).toBe(0);
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
