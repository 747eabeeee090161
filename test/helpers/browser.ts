import fs from 'node:fs';
import path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { repoRoot } from './serve.js';
import { makeTempDir } from './temp.js';

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
