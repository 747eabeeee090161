import type Database from 'better-sqlite3';

export interface RecordedGroup {
  pgid: number;
  /** The boot the id was handed out in (executions/boot-identity.ts). */
  boot: string;
  /** The executable that leads the group, for the log of the worker that ends it. */
  command: string;
  /** When its leader started (process-group.ts leaderStart; migration 0021), null if unknown. */
  leaderStarted: number | null;
}

/**
 * The process groups started outside an execution that still run (migration
 * 0020). Written before the group has done anything and deleted once it is
 * gone, each in its own autocommitted statement: what a worker killed with
 * SIGKILL leaves here is exactly what it left running.
 */
export class ProcessGroupRepository {
  private readonly insertStatement: Database.Statement<[number, string, string, string, number | null]>;
  private readonly deleteStatement: Database.Statement<[number]>;
  private readonly allStatement: Database.Statement<[], RecordedGroup>;

  constructor(private readonly db: Database.Database) {
    // A row left by a worker that died belongs to an ended group whose id is handed out again: the new group replaces it.
    this.insertStatement = db.prepare('INSERT OR REPLACE INTO process_groups (pgid, boot, command, started_at, leader_started) VALUES (?, ?, ?, ?, ?)');
    this.deleteStatement = db.prepare('DELETE FROM process_groups WHERE pgid = ?');
    this.allStatement = db.prepare('SELECT pgid, boot, command, leader_started AS leaderStarted FROM process_groups ORDER BY started_at');
  }

  opened(group: RecordedGroup): void {
    this.insertStatement.run(group.pgid, group.boot, group.command, new Date().toISOString(), group.leaderStarted);
  }

  closed(pgid: number): void {
    // The worker is stopping and its database closed before a check it ran ended: the row stays, and the next worker finds the group gone.
    if (this.db.open) this.deleteStatement.run(pgid);
  }

  left(): RecordedGroup[] {
    return this.allStatement.all();
  }
}
