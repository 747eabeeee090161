import type { BrowserWindowConstructorOptions } from 'electron';
import { isAllowedExternalLink } from '../../common/external-links.js';

/*
 * The window's security policy as plain functions. This file imports only
 * types from electron, so tests can assert the policy under plain Node (a
 * runtime import of `electron` there resolves to the npm package, which
 * returns the binary path or tries to download it).
 */

/** Renderer isolation per https://www.electronjs.org/docs/latest/tutorial/security. */
export function mainWindowOptions(preloadPath: string): BrowserWindowConstructorOptions {
  return {
    width: 1280,
    height: 820,
    minWidth: 800,
    minHeight: 560,
    title: 'Agented',
    // Shown on ready-to-show, so the user never sees an unstyled flash.
    show: false,
    webPreferences: {
      preload: preloadPath,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      spellcheck: false,
    },
  };
}

const cspDirectives: readonly (readonly [string, string])[] = [
  ['default-src', "'self'"],
  ['script-src', "'self'"],
  ['style-src', "'self'"],
  ['img-src', "'self' data:"],
  ['connect-src', "'self'"],
  ['object-src', "'none'"],
  ['base-uri', "'none'"],
  ['frame-ancestors', "'none'"],
];

/** The same policy as the renderer's index.html and the worker's helmet, enforced once more by main. */
export function contentSecurityPolicy(): string {
  return cspDirectives.map(([name, value]) => `${name} ${value}`).join('; ');
}

/**
 * Adds main's CSP next to any the server sent. Both are enforced (a browser
 * applies every policy it receives), so neither side can loosen the other.
 */
export function withContentSecurityPolicy(headers: Readonly<Record<string, string[]>> | undefined): Record<string, string[]> {
  const result: Record<string, string[]> = { ...headers };
  const existing = Object.keys(result).find((name) => name.toLowerCase() === 'content-security-policy');
  const name = existing ?? 'Content-Security-Policy';
  result[name] = [...(result[name] ?? []), contentSecurityPolicy()];
  return result;
}

/** True when `url` parses and has exactly `origin` (scheme, host and port). */
export function isSameOrigin(url: string | undefined, origin: string | undefined): boolean {
  if (url === undefined || origin === undefined) return false;
  try {
    const parsed = new URL(url);
    // Opaque origins (data:, file:, about:) serialize as "null" and never match.
    return parsed.origin !== 'null' && parsed.origin === origin;
  } catch {
    return false;
  }
}

/**
 * Links the window may hand to the OS browser: the same allowlist as the
 * preload's links.openExternal (https: on a listed host), so a link the page
 * cannot open through IPC cannot be opened by clicking it either.
 */
export function isAllowedExternalUrl(url: string): boolean {
  return isAllowedExternalLink(url);
}
