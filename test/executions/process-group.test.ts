import path from 'node:path';
import readline from 'node:readline';
import { describe, expect, it } from 'vitest';
import { groupAlive, killGroup, processRunning, spawnGroup } from '../../main/executions/process-group.js';
import { repoRoot } from '../helpers/serve.js';

const STUBBORN = path.join(repoRoot, 'test', 'fixtures', 'stubborn-tree.mjs');

function firstLine(stream: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve) => readline.createInterface({ input: stream }).once('line', resolve));
}

describe('process groups', () => {
  it('stop ends a tree that ignores SIGINT and SIGTERM, grandchildren included, and nothing of the group remains', async () => {
    const group = spawnGroup([process.execPath, STUBBORN], { env: process.env });
    const { pids } = JSON.parse(await firstLine(group.child.stdout!)) as { pids: number[] };
    expect(pids).toHaveLength(3);
    for (const pid of pids) expect(processRunning(pid)).toBe(true);

    const started = Date.now();
    await group.stop({ graceMs: 300 });
    // It took the whole escalation: two ignored signals, then SIGKILL.
    expect(Date.now() - started).toBeGreaterThanOrEqual(550);
    expect(Date.now() - started).toBeLessThan(4_000);
    expect(groupAlive(group.pgid)).toBe(false);
    for (const pid of pids) expect(processRunning(pid)).toBe(false);
    expect((await group.exited).signal).toBe('SIGKILL');
  });

  it('a well-behaved command stops at SIGINT, without waiting for the grace period', async () => {
    const group = spawnGroup([process.execPath, '-e', "process.stdout.write('up\\n'); setInterval(() => {}, 1000)"], { env: process.env });
    expect(await firstLine(group.child.stdout!)).toBe('up');
    const started = Date.now();
    await group.stop({ graceMs: 5_000 });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect((await group.exited).signal).toBe('SIGINT');
  });

  it('the command runs with stdin closed, in its working directory, with the given environment', async () => {
    const group = spawnGroup([process.execPath, '-e', "let data = ''; process.stdin.on('data', (c) => (data += c)); process.stdin.on('end', () => console.log(JSON.stringify({ cwd: process.cwd(), data, marker: process.env.MARKER })))"], {
      cwd: repoRoot,
      env: { PATH: process.env.PATH, MARKER: 'm-1' },
    });
    const line = JSON.parse(await firstLine(group.child.stdout!)) as { cwd: string; data: string; marker: string };
    expect(line).toEqual({ cwd: repoRoot.replace(/\/$/, ''), data: '', marker: 'm-1' });
    expect((await group.exited).code).toBe(0);
  });

  it('killGroup ends a group known only by its id (left behind by a dead worker)', async () => {
    const group = spawnGroup([process.execPath, STUBBORN], { env: process.env });
    const { pids } = JSON.parse(await firstLine(group.child.stdout!)) as { pids: number[] };
    await killGroup(group.pgid, { graceMs: 200 });
    for (const pid of pids) expect(processRunning(pid)).toBe(false);
  });

  it('a missing command is an error, not a crash', async () => {
    const group = spawnGroup(['/nonexistent/agent-cli', '--version'], { env: process.env });
    await expect(group.exited).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
