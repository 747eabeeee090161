import fs from 'node:fs';
import path from 'node:path';
import { chromium, type BrowserContext, type Page, type Request } from 'playwright-core';
import { vi } from 'vitest';
import { repoRoot } from './serve.js';
import { makeTempDir } from './temp.js';

// What a page in Chromium shows next can take seconds on a loaded two-core CI machine, not the
// one second `expect.poll` waits by default: the files that drive Chromium (all import this one) wait longer.
vi.setConfig({ expect: { poll: { timeout: 15_000 } } });

/** Debian's Chromium, never a downloaded one. */
export const CHROMIUM = process.env.AGENTED_TEST_CHROMIUM ?? '/usr/bin/chromium';

/**
 * A headless Chromium with a fresh profile. The flags keep it from reaching
 * for the network (this machine has none beyond loopback).
 */
export async function launchBrowser(): Promise<{ context: BrowserContext; close: () => Promise<void> }> {
  const profile = makeTempDir('agented-chromium-');
  const context = await chromium.launchPersistentContext(profile.dir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  });
  return {
    context,
    close: async () => {
      await context.close();
      profile.remove();
    },
  };
}

/** Where screenshots and other artifacts of a test run go. */
export function artifactPath(name: string): string {
  const dir = path.join(repoRoot, 'test-results');
  fs.mkdirSync(dir, { recursive: true });
  return path.join(dir, name);
}

/**
 * Follows the API requests of a page: `settled()` resolves once every request to `/api/` sent so
 * far has its response headers (a stream counts as answered once it is open). A test that changes
 * the browser's cookies waits for it first: Chromium queues requests beyond six per host, and a
 * queued one takes the cookies of the moment it is sent, not of the moment the page asked.
 */
export function trackApiRequests(page: Page): { settled: () => Promise<void> } {
  const pending = new Set<Request>();
  page.on('request', (request) => {
    if (new URL(request.url()).pathname.startsWith('/api/')) pending.add(request);
  });
  page.on('response', (response) => pending.delete(response.request()));
  page.on('requestfailed', (request) => pending.delete(request));
  return {
    settled: async () => {
      const deadline = Date.now() + 10_000;
      while (pending.size > 0) {
        if (Date.now() > deadline) throw new Error(`API requests still unanswered: ${[...pending].map((request) => request.url()).join(', ')}`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    },
  };
}
