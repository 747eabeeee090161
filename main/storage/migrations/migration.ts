import type Database from 'better-sqlite3';

/** One schema change. `version` is its position in the ordered list, starting at 1. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  up(db: Database.Database): void;
}
