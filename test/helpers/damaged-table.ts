import fs from 'node:fs';
import Database from 'better-sqlite3';
import { sleep } from './time.js';

/**
 * Overwrites the pages of a table and its indexes in a database file another process has open,
 * as a bad disk would. Everything is first moved from the WAL into the file: a checkpoint that
 * a reader holds back answers busy and is tried again, or pages in the WAL would still be read
 * whole. A write of its own then makes the other connection drop the pages it had cached.
 */
export async function damageTable(file: string, table: string): Promise<void> {
  const other = new Database(file);
  try {
    for (let tries = 0; ; tries += 1) {
      const [result] = other.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
      if (result?.busy === 0) break;
      if (tries === 100) throw new Error(`the WAL of ${file} could not be moved into the file`);
      await sleep(50);
    }
    const pageSize = other.pragma('page_size', { simple: true }) as number;
    const pages = other.prepare<[string], { pageno: number }>('SELECT pageno FROM dbstat WHERE name IN (SELECT name FROM sqlite_schema WHERE tbl_name = ?)').all(table);
    const fd = fs.openSync(file, 'r+');
    try {
      for (const { pageno } of pages) fs.writeSync(fd, Buffer.alloc(pageSize, 0x5a), 0, pageSize, (pageno - 1) * pageSize);
    } finally {
      fs.closeSync(fd);
    }
    other.exec('CREATE TABLE damaged (x)');
  } finally {
    other.close();
  }
}
