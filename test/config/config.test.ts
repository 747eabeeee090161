import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { ConfigError, resolveConfig, settingDefinitions } from '../../main/config/config.js';
import { openDatabase } from '../../main/storage/database.js';
import { repoRoot, runCli } from '../helpers/serve.js';
import { makeTempDir } from '../helpers/temp.js';
import { within } from '../helpers/time.js';

describe('configuration', () => {
  it('defaults are safe: loopback, port 8787, no CORS origins', () => {
    const config = resolveConfig({ env: { HOME: '/home/someone' } });
    expect(config).toMatchObject({ host: '127.0.0.1', port: 8787, corsOrigins: [], allowedHosts: [], apiKey: undefined });
    expect(config.dataDir).toBe('/home/someone/.local/share/agented');
  });

  it('flags win over the environment, which wins over stored settings', () => {
    const config = resolveConfig({
      env: { AGENTED_PORT: '9000', AGENTED_MAX_CONCURRENT: '3', AGENTED_LOG_LEVEL: 'warn' },
      stored: { maxConcurrent: '5', logLevel: 'debug', dedupTtlSeconds: '120' },
      flags: { port: '9100' },
    });
    expect(config).toMatchObject({ port: 9100, maxConcurrent: 3, logLevel: 'warn', dedupTtlSeconds: 120 });
  });

  it.each([
    [{ AGENTED_PORT: 'abc' }, 'AGENTED_PORT'],
    [{ AGENTED_PORT: '70000' }, 'AGENTED_PORT'],
    [{ AGENTED_CORS_ORIGINS: 'https://ok.example,not a url' }, 'AGENTED_CORS_ORIGINS'],
    [{ AGENTED_CORS_ORIGINS: 'https://ok.example/path' }, 'AGENTED_CORS_ORIGINS'],
    [{ AGENTED_LOG_LEVEL: 'loud' }, 'AGENTED_LOG_LEVEL'],
    [{ AGENTED_API_KEY: 'short' }, 'AGENTED_API_KEY'],
    [{ AGENTED_HOST: 'not a host!' }, 'AGENTED_HOST'],
    [{ AGENTED_NGROK_SERVER_ADDR: 'localhost:99999' }, 'AGENTED_NGROK_SERVER_ADDR'],
  ])('invalid %o names %s', (env, variable) => {
    expect(() => resolveConfig({ env })).toThrow(ConfigError);
    try {
      resolveConfig({ env });
    } catch (error) {
      expect((error as ConfigError).variable).toBe(variable);
      expect((error as Error).message).toContain(variable);
    }
  });

  it.each([
    [{ AGENTED_DATA_DIR: ' ' }, 'AGENTED_DATA_DIR'],
    [{ AGENTED_LOG_DIR: '\t' }, 'AGENTED_LOG_DIR'],
  ])('a blank folder %o is refused, naming %s, rather than made in the current directory', (env, variable) => {
    expect(() => resolveConfig({ env })).toThrow(new RegExp(`^Invalid configuration: ${variable} must be a folder path, not blank`));
  });

  it('agented serve with a blank AGENTED_DATA_DIR exits 2 naming it, and makes no folder', async () => {
    const temp = makeTempDir();
    try {
      const cli = runCli({ cwd: temp.dir, env: { HOME: temp.dir, AGENTED_DATA_DIR: ' ', AGENTED_LOG_DIR: `${temp.dir}/logs`, AGENTED_API_KEY: 'config-test-key-0123456789abcdef' } });
      try {
        expect(await within(cli.exited, 10_000, 'agented serve exiting')).toBe(2);
        expect(cli.stderr).toEqual(['agented: Invalid configuration: AGENTED_DATA_DIR must be a folder path, not blank (got " ")']);
        expect(fs.readdirSync(temp.dir)).toEqual([]);
      } finally {
        await cli.killGroup();
      }
    } finally {
      temp.remove();
    }
  });

  it('an invalid API key is never echoed in the error', () => {
    expect(() => resolveConfig({ env: { AGENTED_API_KEY: 'secret with spaces 0123456789abcdef' } })).toThrow(/AGENTED_API_KEY/);
    try {
      resolveConfig({ env: { AGENTED_API_KEY: 'secret with spaces 0123456789abcdef' } });
    } catch (error) {
      expect((error as Error).message).not.toContain('secret with spaces');
    }
  });

  it('.env.example documents every variable, and only those', () => {
    const example = fs.readFileSync(path.join(repoRoot, '.env.example'), 'utf8');
    const documented = [...example.matchAll(/^#?\s*(AGENTED_[A-Z0-9_]+)=/gm)].map((match) => match[1]).sort();
    const defined = Object.values(settingDefinitions).map((definition) => definition.env).sort();
    expect(documented).toEqual(defined);
    for (const variable of defined) {
      expect(example, `${variable} needs a type and a default`).toMatch(new RegExp(`# ${variable}\\b.*\\n#\\s+type: .+\\n#\\s+default: .+`));
    }
  });

  it('agented serve exits non-zero at once with a message naming the variable', async () => {
    const temp = makeTempDir();
    try {
      const cases: [Record<string, string>, string[], RegExp][] = [
        [{ AGENTED_PORT: 'eighty' }, ['serve'], /AGENTED_PORT/],
        [{ AGENTED_CORS_ORIGINS: '*' }, ['serve'], /AGENTED_CORS_ORIGINS/],
        [{}, ['serve', '--port', '99999'], /--port/],
      ];
      for (const [env, args, message] of cases) {
        const cli = runCli({ args, env: { HOME: temp.dir, AGENTED_DATA_DIR: `${temp.dir}/data`, ...env } });
        expect(await cli.exited).toBe(2);
        expect(cli.stderr.join('\n')).toMatch(message);
        expect(cli.stderr.join('\n')).toMatch(/Invalid configuration/);
      }
    } finally {
      temp.remove();
    }
  });

  it('an invalid stored setting stops the worker with the setting named, without a restart loop', async () => {
    const temp = makeTempDir();
    try {
      const dataDir = `${temp.dir}/data`;
      openDatabase({ file: `${dataDir}/agented.db` }).close();
      const db = new Database(`${dataDir}/agented.db`);
      db.prepare('INSERT INTO settings (name, value) VALUES (?, ?)').run('maxConcurrent', 'lots');
      db.close();
      const cli = runCli({ env: { HOME: temp.dir, AGENTED_DATA_DIR: dataDir, AGENTED_LOG_DIR: `${temp.dir}/logs`, AGENTED_API_KEY: 'config-test-key-0123456789abcdef' } });
      expect(await cli.exited).not.toBe(0);
      expect(cli.stderr.join('\n')).toMatch(/AGENTED_MAX_CONCURRENT \(stored setting "maxConcurrent"\)/);
      expect(cli.stdout.filter((line) => line.includes('"worker started"'))).toHaveLength(1);
    } finally {
      temp.remove();
    }
  });
});
