import { flushPromises, mount, type VueWrapper } from '@vue/test-utils';
import { EventSource } from 'eventsource';
import { createPinia, type Pinia } from 'pinia';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import type { Router } from 'vue-router';
import App from '../../renderer/src/App.vue';
import { ApiClient } from '../../renderer/src/api/client.js';
import { FetchEventSource } from '../../renderer/src/api/fetch-event-source.js';
import { ApiKey, EventSourceKey, ExecutionEventSourceKey } from '../../renderer/src/api/inject.js';
import type { EventSourceLike } from '../../renderer/src/api/live-connection.js';
import { buildRouter } from '../../renderer/src/router.js';
import { useLiveStore } from '../../renderer/src/stores/live.js';
import { startEngine, type Engine } from '../helpers/engine.js';
import { scriptedAgent } from '../helpers/serve.js';
import { makeTempDir } from '../helpers/temp.js';

/**
 * The whole renderer in happy-dom, as main.ts composes it (App, the real
 * router with its session guard, Pinia, the live events stream), against a
 * real worker over real HTTP. The page's session cookie is replaced by the
 * API key on every request, the one thing a test cannot get from a login.
 */
export interface MountedApp {
  wrapper: VueWrapper;
  router: Router;
  api: ApiClient;
  /** The app's stores (what the page hears on the live stream can be followed through its live store). */
  pinia: Pinia;
  /** Opens a path as the reader would by following a link. */
  open(fullPath: string): Promise<void>;
  /** Waits (up to `timeoutMs`) until `done()`; fails with the page's HTML if it never is. */
  until(done: () => boolean, timeoutMs?: number): Promise<void>;
  /** The URLs the page fetched since it was mounted, in order. */
  requested: string[];
  /** Waits for the page's requests in flight to be answered (a test ending sooner would see them fail), then unmounts it. */
  close(): Promise<void>;
}

/** The page's fetches not yet answered (a stream counts as answered once its headers arrive). */
let inFlight = 0;
let counting = false;
let log: string[] = [];
function countFetches(): void {
  if (counting) return;
  counting = true;
  const pageFetch = globalThis.fetch;
  globalThis.fetch = ((...args: Parameters<typeof fetch>) => {
    inFlight += 1;
    log.push(String(args[0] instanceof Request ? args[0].url : args[0]));
    return pageFetch(...args).finally(() => (inFlight -= 1));
  }) as typeof fetch;
}

export function setPageOrigin(url: string): void {
  // The page's own origin, as when the worker serves the UI (happy-dom applies CORS like a browser).
  (window as unknown as { happyDOM: { setURL(url: string): void } }).happyDOM.setURL(url);
}

export async function mountApp(server: { url: string; key: string }, fullPath = '/'): Promise<MountedApp> {
  setPageOrigin(`${server.url}${fullPath}`);
  countFetches();
  const requested: string[] = [];
  log = requested;
  const authorization = `Bearer ${server.key}`;
  const keyedFetch: typeof fetch = (input, init) => {
    const headers = new Headers(init?.headers);
    headers.set('authorization', authorization);
    return fetch(input, { ...init, headers });
  };
  const api = new ApiClient({ headers: { Authorization: authorization } });
  const absolute = (url: string) => new URL(url, server.url).href;
  const router = buildRouter(api);
  const pinia = createPinia();
  const wrapper = mount(App, {
    global: {
      plugins: [pinia, router],
      provide: {
        [ApiKey as symbol]: api,
        [EventSourceKey as symbol]: (url: string) => new EventSource(absolute(url), { fetch: keyedFetch }) as unknown as EventSourceLike,
        [ExecutionEventSourceKey as symbol]: (url: string) => new FetchEventSource(absolute(url), { headers: { authorization } }),
      },
    },
    attachTo: document.body,
  });
  // An element not rendered yet is not done yet: a lookup that throws counts as false.
  const holds = (done: () => boolean) => {
    try {
      return done();
    } catch {
      return false;
    }
  };
  const until = async (done: () => boolean, timeoutMs = 5_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!holds(done) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 25));
      await flushPromises();
    }
    expect(holds(done), wrapper.html()).toBe(true);
  };
  await router.push(fullPath);
  await router.isReady();
  await flushPromises();
  return {
    wrapper,
    router,
    api,
    pinia,
    requested,
    open: async (next) => {
      await router.push(next);
      await flushPromises();
    },
    until,
    close: async () => {
      for (let waited = 0; inFlight > 0 && waited < 5_000; waited += 25) await new Promise((resolve) => setTimeout(resolve, 25));
      wrapper.unmount();
      // The events stream belongs to the store, which outlives the component (a page is never unmounted in the app).
      useLiveStore(pinia).stop();
    },
  };
}

/**
 * Holds back the page's answers to the requests `matches` picks, as a slow network
 * would: the server has answered (and acted) already, the page reads the answer
 * only after `release()`.
 */
export function holdAnswers(matches: (url: string, method: string) => boolean): { release: () => Promise<void> } {
  const pageFetch = globalThis.fetch;
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  globalThis.fetch = (async (...args: Parameters<typeof fetch>) => {
    const response = await pageFetch(...args);
    if (matches(String(args[0] instanceof Request ? args[0].url : args[0]), args[1]?.method ?? 'GET')) await released;
    return response;
  }) as typeof fetch;
  return {
    release: async () => {
      globalThis.fetch = pageFetch;
      release();
      await new Promise((resolve) => setTimeout(resolve, 100));
      await flushPromises();
    },
  };
}

export interface AppOnScriptedWorker {
  /** The worker; started before the file's own beforeAll hooks run (hooks run in the order registered). */
  readonly engine: Engine;
  /** The app the running test mounted last. */
  readonly app: MountedApp;
  /** Mounts the app at `fullPath`; the one mounted last is closed after the test. */
  mount(fullPath?: string): Promise<MountedApp>;
}

/**
 * What the page tests share: a real worker whose Claude Code is the scripted
 * agent (plus `env`), started before the file's tests and closed after them,
 * and the app each test mounts, closed after that test.
 */
export function appOnScriptedWorker(tempPrefix: string, env: Record<string, string> = {}): AppOnScriptedWorker {
  const temp = makeTempDir(tempPrefix);
  let engine: Engine | undefined;
  let app: MountedApp | undefined;
  beforeAll(async () => {
    engine = await startEngine({ AGENTED_CLAUDE_PATH: scriptedAgent(temp.dir), ...env });
  }, 60_000);
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });
  afterAll(async () => {
    await engine?.close();
    temp.remove();
  });
  const harness: AppOnScriptedWorker = {
    get engine() {
      if (!engine) throw new Error('the worker is not started yet');
      return engine;
    },
    get app() {
      if (!app) throw new Error('no app is mounted in this test');
      return app;
    },
    async mount(fullPath = '/') {
      app = await mountApp(harness.engine.server, fullPath);
      return app;
    },
  };
  return harness;
}
