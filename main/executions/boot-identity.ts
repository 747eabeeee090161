import fs from 'node:fs';
import os from 'node:os';

/** How far apart two computed boot times may be and still be the same boot (a clock adjusted meanwhile moves them). */
const BOOT_TIME_TOLERANCE_S = 30;

let cached: string | undefined;

/**
 * Which boot of this machine the worker runs in, stored with each process
 * group id: a group id is only meaningful within the boot that handed it out,
 * and after a reboot the same number may belong to anybody's processes.
 * Linux names each boot (`/proc/sys/kernel/random/boot_id`); elsewhere it is
 * the time the machine booted, to the second.
 */
export function currentBoot(): string {
  if (cached !== undefined) return cached;
  try {
    cached = `boot_id:${fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()}`;
  } catch {
    cached = `booted:${Math.round(Date.now() / 1000 - os.uptime())}`;
  }
  return cached;
}

/**
 * Whether a boot recorded earlier is this one. A group recorded before
 * Agented kept the boot (`null`) is taken as this boot, as it always was. When
 * in doubt the answer is "another boot": the group is then left alone rather
 * than a stranger's processes signalled.
 */
export function sameBoot(recorded: string | null, current: string = currentBoot()): boolean {
  if (recorded === null) return true;
  if (recorded === current) return true;
  const recordedTime = bootTime(recorded);
  const currentTime = bootTime(current);
  return recordedTime !== undefined && currentTime !== undefined && Math.abs(recordedTime - currentTime) <= BOOT_TIME_TOLERANCE_S;
}

/** The boot time of a `booted:` identity; undefined for a boot id (compared only for equality). */
function bootTime(boot: string): number | undefined {
  const match = /^booted:(-?\d+)$/.exec(boot);
  return match ? Number(match[1]) : undefined;
}
