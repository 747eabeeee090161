import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { trayIconPath } from '../../main/shell/tray-icon.js';
import { repoRoot } from '../helpers/serve.js';

interface BuilderConfig {
  appId: string;
  productName: string;
  files: string[];
  asarUnpack: string[];
  npmRebuild: boolean;
  extraMetadata: { main: string };
  linux: { target: string[] };
  mac: { target: { target: string; arch: string[] }[] };
  win: { target: string[] };
}

const config = parse(fs.readFileSync(path.join(repoRoot, 'electron-builder.yml'), 'utf8')) as BuilderConfig;
const manifest = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; scripts: Record<string, string> };

/** A production dependency ships a native addon when its folder holds a .node file or a binding.gyp. */
function isNative(dir: string): boolean {
  if (fs.existsSync(path.join(dir, 'binding.gyp'))) return true;
  const stack = [dir];
  while (stack.length > 0) {
    const current = stack.pop()!;
    for (const entry of fs.readdirSync(current, { withFileTypes: true })) {
      if (entry.isDirectory() && entry.name !== 'node_modules') stack.push(path.join(current, entry.name));
      else if (entry.name.endsWith('.node')) return true;
    }
  }
  return false;
}

function unpacked(packageName: string): boolean {
  return config.asarUnpack.some((glob) => {
    const prefix = glob.replace(/\*\*$/, '');
    return `node_modules/${packageName}/`.startsWith(prefix);
  });
}

describe('electron-builder.yml (packaging cannot run here: the config is checked instead)', () => {
  it('names the app and builds AppImage + deb, dmg for x64 and arm64, and nsis', () => {
    expect(config.appId).toBe('com.agented.app');
    expect(config.productName).toBe('Agented');
    expect(config.linux.target).toEqual(expect.arrayContaining(['AppImage', 'deb']));
    expect(config.mac.target).toContainEqual({ target: 'dmg', arch: ['x64', 'arm64'] });
    expect(config.win.target).toContain('nsis');
  });

  it('unpacks every native module of the production dependencies from the asar, including platform packages', () => {
    const natives: string[] = [];
    const visit = (name: string) => {
      const dir = path.join(repoRoot, 'node_modules', name);
      if (!fs.existsSync(dir)) return;
      if (isNative(dir)) natives.push(name);
    };
    for (const name of Object.keys(manifest.dependencies)) visit(name);
    // Prebuilt binaries often live in per-platform packages beside the main one (@napi-rs/keyring-linux-x64-gnu).
    for (const scope of ['@napi-rs', '@ngrok']) {
      for (const name of fs.readdirSync(path.join(repoRoot, 'node_modules', scope))) visit(`${scope}/${name}`);
    }
    expect(natives).toEqual(expect.arrayContaining(['better-sqlite3']));
    expect(natives.some((name) => name.startsWith('@napi-rs/keyring'))).toBe(true);
    expect(natives.some((name) => name.startsWith('@ngrok/ngrok-'))).toBe(true);
    for (const name of natives) expect(unpacked(name), `${name} must be in asarUnpack`).toBe(true);
  });

  it('rebuilds native modules for Electron at packaging time only, never on install', () => {
    expect(config.npmRebuild).toBe(true);
    for (const script of ['postinstall', 'install', 'prepare']) {
      expect(manifest.scripts[script] ?? '').not.toMatch(/install-app-deps|electron-rebuild/);
    }
  });

  it('includes every file the app loads at run time (after a build)', () => {
    expect(config.files).toEqual(expect.arrayContaining(['dist/**', 'package.json', 'resources/**']));
    const built = [config.extraMetadata.main, 'dist/main/worker/main.js', 'dist/preload/index.cjs', 'dist/renderer/index.html', 'dist/main/cli.js'];
    // Loaded from the app root by main/shell/tray-icon.ts (and the @2x beside each by Electron).
    const trayIcons = ['darwin', 'linux', 'win32'].map((platform) => path.relative(repoRoot, trayIconPath(platform as NodeJS.Platform, repoRoot)).split(path.sep).join('/'));
    const resources = [...trayIcons, ...trayIcons.map((icon) => icon.replace(/\.png$/, '@2x.png'))];
    expect(resources).toEqual(expect.arrayContaining(['resources/tray/tray.png', 'resources/tray/trayTemplate@2x.png']));
    for (const file of [...built, ...resources]) {
      const covered = config.files.some((glob) => glob === file || (glob.endsWith('/**') && file.startsWith(glob.slice(0, -2))));
      expect(covered, `${file} is packaged (files)`).toBe(true);
      expect(fs.existsSync(path.join(repoRoot, file)), `${file} exists after npm run build`).toBe(true);
    }
  });
});
