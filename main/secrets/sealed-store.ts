import crypto from 'node:crypto';
import type Database from 'better-sqlite3';
import type { SecretStore } from './keychain.js';

/**
 * Secrets sealed with AES-256-GCM in SQLite, for machines that run without an
 * OS keychain (AGENTED_API_KEY set). The sealing key is derived from the API
 * key with HKDF, so nothing readable is written to disk; changing
 * AGENTED_API_KEY makes the sealed secrets unreadable (rotate them then).
 */
export class SealedSecretStore implements SecretStore {
  private readonly key: Buffer;
  private readonly select: Database.Statement<[string], { iv: Buffer; tag: Buffer; ciphertext: Buffer }>;
  private readonly upsert: Database.Statement<[string, Buffer, Buffer, Buffer]>;
  private readonly remove: Database.Statement<[string]>;

  constructor(db: Database.Database, apiKey: string) {
    this.key = Buffer.from(crypto.hkdfSync('sha256', apiKey, 'agented', 'sealed-secrets-v1', 32));
    this.select = db.prepare('SELECT iv, tag, ciphertext FROM sealed_secrets WHERE name = ?');
    this.upsert = db.prepare(
      'INSERT INTO sealed_secrets (name, iv, tag, ciphertext) VALUES (?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET iv = excluded.iv, tag = excluded.tag, ciphertext = excluded.ciphertext',
    );
    this.remove = db.prepare('DELETE FROM sealed_secrets WHERE name = ?');
  }

  async get(name: string): Promise<string | null> {
    const row = this.select.get(name);
    if (!row) return null;
    const decipher = crypto.createDecipheriv('aes-256-gcm', this.key, row.iv);
    decipher.setAAD(Buffer.from(name));
    decipher.setAuthTag(row.tag);
    try {
      return Buffer.concat([decipher.update(row.ciphertext), decipher.final()]).toString('utf8');
    } catch {
      // The only way a value of ours fails its tag: the sealing key, and so AGENTED_API_KEY, is not the one it was sealed with.
      throw new Error(`"${name}" was sealed with another AGENTED_API_KEY and cannot be read with this one; set it again`);
    }
  }

  async set(name: string, value: string): Promise<void> {
    const iv = crypto.randomBytes(12);
    const cipher = crypto.createCipheriv('aes-256-gcm', this.key, iv);
    // The name is authenticated too: a sealed value cannot be moved to another entry.
    cipher.setAAD(Buffer.from(name));
    const ciphertext = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
    this.upsert.run(name, iv, cipher.getAuthTag(), ciphertext);
  }

  async delete(name: string): Promise<boolean> {
    return this.remove.run(name).changes > 0;
  }
}
