import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { trayIconPath } from '../../main/shell/tray-icon.js';
import { repoRoot } from '../helpers/serve.js';
import { listFiles, makeTempDir } from '../helpers/temp.js';
import { decodePng } from './png.js';

interface BuilderConfig {
  appId: string;
  productName: string;
  directories: { output: string; buildResources?: string };
  icon?: string;
  files: string[];
  asarUnpack: string[];
  npmRebuild: boolean;
  electronFuses: Record<string, boolean>;
  extraMetadata: { main: string };
  linux: { target: string[] };
  mac: { target: { target: string; arch: string[] }[] };
  win: { target: string[] };
}

const config = parse(fs.readFileSync(path.join(repoRoot, 'electron-builder.yml'), 'utf8')) as BuilderConfig;
/** electron-builder's own modules, as `electron-builder` loads them (CommonJS). */
const builderRequire = createRequire(path.join(repoRoot, 'node_modules', 'app-builder-lib', 'package.json'));
const { validateConfiguration } = builderRequire('./out/util/config/config.js') as {
  validateConfiguration(config: unknown, debugLogger: { isEnabled: boolean; add(key: string, value: unknown): void }): Promise<void>;
};
const { buildSourceCandidates, getPngSize } = builderRequire('./out/util/iconConverter.js') as {
  buildSourceCandidates(sources: string[], format: 'icns' | 'ico' | 'set'): string[];
  getPngSize(file: string): Promise<{ width: number; height: number }>;
};
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

  it('switches off the fuses that let whoever starts the binary run it as Node, inject options or swap its code', () => {
    expect(config.electronFuses).toEqual({
      runAsNode: false,
      enableCookieEncryption: true,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      enableEmbeddedAsarIntegrityValidation: true,
      onlyLoadAppFromAsar: true,
    });
    // Nothing of the app needs a fuse switched off: no code starts the binary as Node.
    for (const file of listFiles(path.join(repoRoot, 'main')).filter((name) => name.endsWith('.ts'))) expect(fs.readFileSync(file, 'utf8'), file).not.toContain('ELECTRON_RUN_AS_NODE');
  });

  it("passes electron-builder's own schema validation", async () => {
    await expect(validateConfiguration(config, { isEnabled: false, add: () => undefined })).resolves.toBeUndefined();
    // The check is real: a misspelt option fails it.
    await expect(validateConfiguration({ ...config, iconn: 'icon.png' }, { isEnabled: false, add: () => undefined })).rejects.toThrow(/unknown property 'iconn'/);
  });
});

describe('the app icon (build/icon.png)', () => {
  const buildResources = path.join(repoRoot, config.directories.buildResources ?? 'build');
  const icon = path.join(repoRoot, 'build', 'icon.png');

  it('is configured for every target and kept out of the packaged app', () => {
    expect(config.directories.buildResources).toBe('build');
    expect(config.icon).toBe('icon.png');
    // build/ holds packaging inputs only; electron-builder never packs buildResources, and `files` does not ask for it.
    for (const glob of config.files) expect(glob.startsWith('build/') || glob === '**/*', glob).toBe(false);
  });

  it.each(['icns', 'ico', 'set'] as const)('is the file electron-builder picks to make the %s icon', (format) => {
    // Its search order (app-builder-lib's iconConverter): each candidate name, first under buildResources, then the project.
    const roots = [buildResources, repoRoot];
    const found = buildSourceCandidates([config.icon!], format)
      .flatMap((candidate) => roots.map((root) => path.join(root, candidate)))
      .find((file) => fs.existsSync(file));
    expect(found).toBe(icon);
  });

  it('is a 1024 px RGBA PNG: above the 512 px electron-builder needs for macOS and the 256 px for Windows', async () => {
    const png = decodePng(icon);
    expect({ width: png.width, height: png.height, colorType: png.colorType }).toEqual({ width: 1024, height: 1024, colorType: 6 });
    // electron-builder reads the size from the IHDR itself before converting; it must agree.
    await expect(getPngSize(icon)).resolves.toEqual({ width: 1024, height: 1024 });
  });

  it('is the indigo badge with the white A on a transparent margin', () => {
    const { pixels, width } = decodePng(icon);
    const at = (x: number, y: number) => [...pixels.subarray((y * width + x) * 4, (y * width + x) * 4 + 4)];
    expect(at(10, 10)).toEqual([0, 0, 0, 0]);
    expect(at(150, 512)).toEqual([79, 70, 229, 255]);
    // The apex of the A, on the vertical centre line.
    expect(at(512, 260)).toEqual([255, 255, 255, 255]);
  });

  it('is what scripts/make-app-icons.mjs draws', async () => {
    const temp = makeTempDir();
    try {
      await promisify(execFile)(process.execPath, [path.join(repoRoot, 'scripts', 'make-app-icons.mjs'), '--out', temp.dir]);
      expect(fs.readdirSync(temp.dir)).toEqual(['icon.png']);
      expect(fs.readFileSync(path.join(temp.dir, 'icon.png')).equals(fs.readFileSync(icon))).toBe(true);
    } finally {
      temp.remove();
    }
  });
});
