import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import { currentBoot, sameBoot } from './boot-identity.js';

export interface StopPolicy {
  /** How long the group gets after SIGINT before SIGTERM, and after SIGTERM before SIGKILL. */
  graceMs: number;
}

export interface SpawnedGroup {
  /** Its output (null when the command could not start). */
  readonly child: Pick<ChildProcess, 'stdout' | 'stderr'>;
  /** The process group id (the child's pid: it leads its own group). */
  readonly pgid: number;
  /** Resolves when the leader exits: its code, or the signal that ended it. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /**
   * SIGINT, then SIGTERM, then SIGKILL to the whole group, each after the
   * grace period; resolves when no process of the group is left. There is one
   * escalation per group: a call while one is under way (or after it ended)
   * joins it, at its grace, rather than signalling the group again.
   */
  stop(policy: StopPolicy): Promise<void>;
  /**
   * Resolves once the child's pipes have closed, or after OUTPUT_CLOSE_MS,
   * when they are closed on this side: a process that left the group (a
   * daemon in a session of its own) may hold them open for ever. Meant for
   * after `stop`: what the group wrote has been read by then.
   */
  closeOutput(): Promise<void>;
}

/**
 * Where process groups started outside an execution (`<cli> --version`, the
 * login shell read for its PATH) are written down while they run
 * (ProcessGroupRepository): a worker killed with SIGKILL runs no cleanup and
 * its detached groups outlive it, so the next worker ends what is written
 * there (endLeftGroups). Executions keep theirs on their own row.
 */
export interface GroupJournal {
  opened(group: JournalledGroup): void;
  closed(pgid: number): void;
  left(): JournalledGroup[];
}

export interface JournalledGroup {
  pgid: number;
  boot: string;
  command: string;
  /** leaderStart of the group's leader when it was written down. */
  leaderStarted: number | null;
}

/** The state letter and process group of a pid from /proc (Linux), or undefined where /proc is not there. */
function procStat(pid: number): { state: string; pgrp: number } | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may contain spaces: split after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0]!, pgrp: Number(fields[2]) };
  } catch {
    return undefined;
  }
}

/**
 * When a process started, in clock ticks since boot (field 22 of /proc/<pid>/stat), or null where
 * /proc is not there or the process is gone. With the boot, it tells one process from a later one
 * that was given the same number.
 */
export function leaderStart(pid: number): number | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
  } catch {
    return null;
  }
}

/**
 * Whether a group recorded with its leader's start is still that group. A group id cannot be handed
 * out while any process of the group lives: a leader that is gone leaves its members ours, and only
 * a live leader that started at another time is somebody else. Unrecorded (an older row, no /proc):
 * the boot alone decides, as before.
 */
export function sameLeader(pgid: number, recordedStart: number | null): boolean {
  if (recordedStart === null) return true;
  const start = leaderStart(pgid);
  return start === null || start === recordedStart;
}

/** How long a stopped group's pipes may take to close (what is in them to be read) before they are closed on this side. */
const OUTPUT_CLOSE_MS = 500;

const HAS_PROC = process.platform === 'linux' && fs.existsSync('/proc/self/stat');

/**
 * True while a process runs. A zombie (exited, not yet reaped by its parent —
 * for an orphaned grandchild, by init, whenever it gets to it) runs nothing
 * and holds nothing but its pid, so it does not count.
 */
export function processRunning(pid: number): boolean {
  if (HAS_PROC) {
    const stat = procStat(pid);
    return stat !== undefined && stat.state !== 'Z';
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** True while any process of the group runs (zombies aside, where /proc can tell). */
export function groupAlive(pgid: number): boolean {
  if (HAS_PROC) {
    for (const entry of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const stat = procStat(Number(entry));
      if (stat && stat.pgrp === pgid && stat.state !== 'Z') return true;
    }
    return false;
  }
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (error) {
    // EPERM means it exists but is not ours to signal: still alive.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // Already gone.
  }
}

async function waitUntilGone(pgid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (groupAlive(pgid)) {
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return true;
}

/**
 * Ends a process group left behind (a worker that died while an agent CLI
 * ran): the same escalation as `stop`, for a group we only know by its id.
 */
export async function killGroup(pgid: number, policy: StopPolicy): Promise<void> {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    if (!groupAlive(pgid)) return;
    signalGroup(pgid, signal);
    if (await waitUntilGone(pgid, policy.graceMs)) return;
  }
  signalGroup(pgid, 'SIGKILL');
  await waitUntilGone(pgid, 5_000);
}

/**
 * Ends the groups a journal still lists (a worker killed while they ran left
 * them), with the same escalation as `stop`, and forgets them. A group id
 * from an earlier boot, or one whose number now leads a program started
 * since (sameLeader), names nothing of ours any more: it is forgotten
 * without being signalled. Resolves with the groups found.
 */
export async function endLeftGroups(journal: GroupJournal, policy: StopPolicy): Promise<{ pgid: number; command: string; signalled: boolean }[]> {
  const boot = currentBoot();
  return Promise.all(
    journal.left().map(async (group) => {
      const signalled = sameBoot(group.boot, boot) && sameLeader(group.pgid, group.leaderStarted);
      if (signalled) await killGroup(group.pgid, policy);
      journal.closed(group.pgid);
      return { pgid: group.pgid, command: group.command, signalled };
    }),
  );
}

/**
 * Starts a command (argv, never a shell string) as the leader of its own
 * process group, with stdin closed, so everything it starts — an agent CLI's
 * tool calls, their children — can be stopped together and none is orphaned.
 * With a journal, the group is written down as soon as it has an id and
 * forgotten once `stop` has seen it gone: the caller ends with `stop`.
 */
export function spawnGroup(argv: readonly string[], options: { cwd?: string; env: NodeJS.ProcessEnv; journal?: GroupJournal }): SpawnedGroup {
  const [command, ...args] = argv;
  if (!command) throw new Error('spawnGroup needs a command');
  let child: ChildProcess;
  try {
    child = spawn(command, args, { cwd: options.cwd, env: options.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    // E2BIG (arguments or environment too large) and ENOTDIR (cwd) are thrown rather than emitted: reported the same way.
    return notStarted({ stdout: null, stderr: null }, Promise.resolve(error));
  }
  // spawn reports ENOENT and friends asynchronously.
  if (child.pid === undefined) return notStarted(child, once(child, 'error').then(([error]) => error));
  const pgid = child.pid;
  options.journal?.opened({ pgid, boot: currentBoot(), command, leaderStarted: leaderStart(pgid) });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const closeOutput = async () => {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([closed, new Promise((resolve) => (timer = setTimeout(resolve, OUTPUT_CLOSE_MS)))]);
    clearTimeout(timer);
    child.stdout?.destroy();
    child.stderr?.destroy();
  };
  // A second escalation beside the first would send its SIGINT again and its SIGTERM early, cutting the grace short.
  let stopping: Promise<void> | undefined;
  return { child, pgid, exited, stop: (policy) => (stopping ??= killGroup(pgid, policy).then(() => options.journal?.closed(pgid))), closeOutput };
}

/** A command that never ran: `exited` rejects with why. */
function notStarted(child: SpawnedGroup['child'], error: Promise<unknown>): SpawnedGroup {
  const failed = error.then((reason) => {
    throw reason;
  });
  failed.catch(() => undefined);
  return { child, pgid: -1, exited: failed, stop: async () => undefined, closeOutput: async () => undefined };
}
