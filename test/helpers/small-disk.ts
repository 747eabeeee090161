import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { makeTempDir } from './temp.js';

/**
 * A small tmpfs of its own (6 MB), so a disk can be filled without touching
 * anyone else's; `cleanup` is handed what unmounts it. Undefined where mount
 * cannot be used (it needs root, which CI has).
 */
export function smallDisk(cleanup: (step: () => void) => void): string | undefined {
  const mountPoint = makeTempDir('agented-small-disk-');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=6m', 'tmpfs', mountPoint.dir], { stdio: 'ignore' });
  } catch {
    mountPoint.remove();
    return undefined;
  }
  cleanup(() => {
    execFileSync('umount', [mountPoint.dir]);
    mountPoint.remove();
  });
  return mountPoint.dir;
}

/** Writes a file until the disk has no space left; removing it frees the space again. */
export function fillDisk(dir: string): string {
  const filler = path.join(dir, 'filler');
  const fd = fs.openSync(filler, 'w');
  try {
    for (;;) fs.writeSync(fd, Buffer.alloc(64 * 1024, 1));
  } catch (error) {
    expect((error as NodeJS.ErrnoException).code).toBe('ENOSPC');
  } finally {
    fs.closeSync(fd);
  }
  return filler;
}
