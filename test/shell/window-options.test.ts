import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  contentSecurityPolicy,
  isAllowedExternalUrl,
  isSameOrigin,
  mainWindowOptions,
  withContentSecurityPolicy,
} from '../../main/shell/window-options.js';
import { repoRoot } from '../helpers/serve.js';

describe('the main window', () => {
  const preload = path.join(repoRoot, 'dist', 'preload', 'index.cjs');
  const { webPreferences } = mainWindowOptions(preload);

  it('isolates the renderer: context isolation, sandbox, no Node, web security', () => {
    expect(webPreferences).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
    });
  });

  it('loads the CommonJS preload bundle', () => {
    expect(webPreferences?.preload).toBe(preload);
    expect(webPreferences?.preload).toMatch(/index\.cjs$/);
  });
});

describe('the content security policy', () => {
  const csp = contentSecurityPolicy();
  const parse = (policy: string) =>
    new Map(
      policy.split(';').map((part) => {
        const [name = '', ...values] = part.trim().split(/\s+/);
        return [name, values.join(' ')] as const;
      }),
    );
  const sorted = (values: string[]) => [...values].sort();
  const directives = parse(csp);

  it('allows no inline or eval script or style', () => {
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|unsafe-hashes|\*/);
  });

  it('limits every kind of resource to the worker itself', () => {
    expect(Object.fromEntries(directives)).toEqual({
      'default-src': "'self'",
      'script-src': "'self'",
      'style-src': "'self'",
      'img-src': "'self' data:",
      'connect-src': "'self'",
      'object-src': "'none'",
      'base-uri': "'none'",
      'frame-ancestors': "'none'",
    });
  });

  it("agrees with the renderer's index.html, adding only what a <meta> policy cannot carry", () => {
    const html = fs.readFileSync(path.join(repoRoot, 'renderer', 'index.html'), 'utf8');
    const meta = /http-equiv="Content-Security-Policy"\s+content="([^"]+)"/.exec(html)?.[1];
    expect(meta).toBeDefined();
    const fromMeta = parse(meta ?? '');
    for (const [name, value] of fromMeta) expect(directives.get(name), name).toBe(value);
    // Browsers ignore frame-ancestors in a <meta> element; only a header (main's or helmet's) enforces it.
    expect(sorted([...directives.keys()].filter((name) => !fromMeta.has(name)))).toEqual(['frame-ancestors']);
  });

  it("is added next to the worker's own policy, whatever its header case, never replacing it", () => {
    const workerPolicy = "default-src 'self'; font-src 'self'";
    const headers = withContentSecurityPolicy({ 'content-security-policy': [workerPolicy], 'x-frame-options': ['DENY'] });
    expect(headers).toEqual({ 'content-security-policy': [workerPolicy, csp], 'x-frame-options': ['DENY'] });
    expect(withContentSecurityPolicy(undefined)).toEqual({ 'Content-Security-Policy': [csp] });
  });
});

describe('where the window may go', () => {
  const origin = 'http://127.0.0.1:8787';

  it.each([
    ['http://127.0.0.1:8787/', true],
    ['http://127.0.0.1:8787/auth/login?token=abc', true],
    ['http://127.0.0.1:8788/', false],
    ['http://localhost:8787/', false],
    ['https://127.0.0.1:8787/', false],
    ['http://127.0.0.1:8787.evil.test/', false],
    ['http://user@evil.test/?http://127.0.0.1:8787', false],
    ['data:text/html,<p>hi</p>', false],
    ['file:///etc/passwd', false],
    ['not a url', false],
  ])('%s is on the worker origin: %s', (url, expected) => {
    expect(isSameOrigin(url, origin)).toBe(expected);
  });

  it('trusts nothing before the worker origin is known', () => {
    expect(isSameOrigin('http://127.0.0.1:8787/', undefined)).toBe(false);
  });

  it.each([
    ['https://github.com/agented/agented', true],
    // https alone is not enough: the host must be on the allowlist (common/external-links.ts).
    ['https://example.com/', false],
    ['https://github.com.evil.test/', false],
    ['http://example.com/', false],
    ['file:///etc/passwd', false],
    ['javascript:alert(1)', false],
    ['vscode://file/etc/passwd', false],
    ['not a url', false],
  ])('%s may open in the OS browser: %s', (url, expected) => {
    expect(isAllowedExternalUrl(url)).toBe(expected);
  });
});
