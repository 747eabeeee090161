import fs from 'node:fs';
import path from 'node:path';
import express, { type Request, type RequestHandler, type Response } from 'express';
import { ErrorBody } from '../../../common/errors.js';
import { ApiError } from '../errors.js';
import { defineRoute, type Route } from '../route.js';

const API_PREFIXES = ['/api/', '/health/', '/hooks/', '/auth/'];

/**
 * A file Vite wrote into `assets/` with its content hash in the name
 * (`index-CeD8nPPL.js`, `index-BCx9OLqF.css`): code and styles, no data.
 * Source maps (`….js.map`) are left out: the page does not need them to run.
 */
const HASHED_ASSET = /^\/assets\/[A-Za-z0-9_.-]+-[A-Za-z0-9_-]{8}\.(?:js|css|woff2?|svg|png)$/;

/** A browser opening a page of the app (not a script asking for JSON, not the API). */
function isAppNavigation(req: Request): boolean {
  return !API_PREFIXES.some((prefix) => req.path.startsWith(prefix)) && req.accepts(['html', 'json']) === 'html';
}

/** express.static as a promise: resolves once the answer is sent, or calls `fallthrough` when there is no such file. */
function serveFrom(serveStatic: RequestHandler, req: Request, res: Response, fallthrough: () => Promise<void>): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    res.once('close', () => resolve());
    void serveStatic(req, res, (error?: unknown) => {
      if (error) reject(error);
      else fallthrough().then(resolve, reject);
    });
  });
}

function sendIndex(res: Response, indexFile: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    // The shell names the current hashed assets: always revalidate it.
    res.setHeader('Cache-Control', 'no-cache');
    res.sendFile(indexFile, (error) => (error ? reject(error) : resolve()));
  });
}

/**
 * The built renderer (Vite's output). The app shell — index.html for any page
 * of the app, and the hashed assets it loads — needs no key, so a browser
 * without a session (a cold start, an expired cookie) gets the app's own login
 * page, which takes the one-time link or a pasted key. Everything with data
 * stays behind the key: the API, and any other file of the build. The Host
 * allowlist, CSP and helmet headers apply to these files like to every route.
 */
export function rendererRoutes(rendererDir: string | undefined): Route[] {
  const indexFile = rendererDir === undefined ? undefined : path.join(rendererDir, 'index.html');
  const serveStatic = rendererDir === undefined ? undefined : express.static(rendererDir, { index: false, redirect: false, fallthrough: true });
  // Hashed names change with their content, so a browser may keep them for good.
  const serveAssets = rendererDir === undefined ? undefined : express.static(rendererDir, { index: false, redirect: false, immutable: true, maxAge: '1y' });
  const notFound = () => Promise.reject(new ApiError('ERR_NOT_FOUND'));

  return [
    defineRoute({
      method: 'get',
      path: '/assets/{*file}',
      auth: 'shell',
      publicRequest: (req) => HASHED_ASSET.test(req.path),
      tag: 'renderer',
      summary: 'A built file of the UI. Files with a content hash in their name (scripts, styles, fonts, images) need no key; source maps do.',
      responses: {
        200: { description: 'The file', contentType: 'application/javascript' },
        401: { description: 'Not a hashed asset, and no key or session', schema: ErrorBody },
        404: { description: 'No such file', schema: ErrorBody },
      },
      handler: ({ req, res }) => (serveAssets ? serveFrom(serveAssets, req, res, notFound) : notFound()),
    }),
    defineRoute({
      method: 'get',
      path: '/{*path}',
      auth: 'shell',
      publicRequest: isAppNavigation,
      tag: 'renderer',
      summary:
        'The Agented UI: a browser opening any page of the app gets index.html without a key (the app then asks for a session); other files of the build need the key. Unknown paths under /api/, /health/, /hooks/ and /auth/ are JSON 404s.',
      responses: {
        200: { description: 'The app shell, or a file of the UI', contentType: 'text/html' },
        401: { description: 'Not a page of the app, and no key or session', schema: ErrorBody },
        404: { description: 'No such file or route', schema: ErrorBody },
      },
      handler: ({ req, res }) => {
        if (API_PREFIXES.some((prefix) => req.path.startsWith(prefix)) || !serveStatic || !indexFile) return notFound();
        const index = () => (isAppNavigation(req) && fs.existsSync(indexFile) ? sendIndex(res, indexFile) : notFound());
        // Without credentials only the shell itself: never another file of the folder.
        if (req.auth === undefined) return index();
        return serveFrom(serveStatic, req, res, index);
      },
    }),
  ];
}
