import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BackendHealth } from '../../main/backends/backend-health.js';
import { BackendLocator } from '../../main/backends/locator.js';
import { makeTempDir } from '../helpers/temp.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A user whose bash profile is `profile`, with a `claude` in `bin/` of their home; the app starts with a minimal PATH. */
function userHome(profile: (home: string) => string): { HOME: string; SHELL: string; PATH: string } {
  const temp = makeTempDir();
  cleanups.push(temp.remove);
  fs.mkdirSync(path.join(temp.dir, 'bin'));
  fs.writeFileSync(path.join(temp.dir, 'bin', 'claude'), '#!/bin/sh\necho "2.0.0 (Claude Code)"\n', { mode: 0o755 });
  fs.writeFileSync(path.join(temp.dir, '.bash_profile'), profile(temp.dir));
  return { HOME: temp.dir, SHELL: '/bin/bash', PATH: '/usr/bin:/bin' };
}

describe("finding the agent CLIs on the login shell's PATH", () => {
  it('a relative PATH entry is skipped: what it names depends on the directory the CLI is looked up from', async () => {
    // `bin` relative to this process's directory, as a profile's `PATH="node_modules/.bin:$PATH"` would be.
    const env = userHome((home) => `export PATH="${path.relative(process.cwd(), path.join(home, 'bin'))}:$PATH:${home}/bin"\n`);
    const located = await new BackendLocator({ env, overrides: {} }).locate('claude');
    expect(located).toMatchObject({ ok: true, executable: path.join(env.HOME, 'bin', 'claude') });
  });

  it('an entry starting with ~ (quoted in the profile) is the home folder, as bash reads it when it looks a command up', async () => {
    const env = userHome(() => 'export PATH="~/bin:$PATH"\n');
    const located = await new BackendLocator({ env, overrides: {} }).locate('claude');
    expect(located).toMatchObject({ ok: true, executable: path.join(env.HOME, 'bin', 'claude') });
  });

  it('a login shell slow once at a later check keeps the PATH it gave before: installed CLIs stay found', async () => {
    // The first read answers; every later one hangs (a busy machine, a profile waiting on the network).
    const env = userHome((home) => `[ -e "${home}/read" ] && sleep 30\ntouch "${home}/read"\nexport PATH="$PATH:${home}/bin"\n`);
    const locator = new BackendLocator({ env, overrides: {}, shellTimeoutMs: 1_000 });
    expect(await locator.locate('claude')).toMatchObject({ ok: true });
    const checklist = await new BackendHealth({ env, locator }).checklist(true);
    expect(checklist.items.find((item) => item.name === 'claude')).toMatchObject({ installed: true, path: path.join(env.HOME, 'bin', 'claude') });
    expect(await locator.locate('claude')).toMatchObject({ ok: true, executable: path.join(env.HOME, 'bin', 'claude') });
  });
});
