import fs from 'node:fs';
import path from 'node:path';
import express from 'express';
import { ErrorBody } from '../../../common/errors.js';
import { ApiError } from '../errors.js';
import { defineRoute, type Route } from '../route.js';

const API_PREFIXES = ['/api/', '/health/', '/hooks/', '/auth/'];

/**
 * The built renderer (Vite's output), behind the same auth as the API: the
 * session cookie from the login link is what lets the page load. Unknown
 * paths under the API prefixes stay JSON 404s; other HTML requests get the
 * single-page app's index.html.
 */
export function rendererRoute(rendererDir: string | undefined): Route {
  const indexFile = rendererDir === undefined ? undefined : path.join(rendererDir, 'index.html');
  const serveStatic = rendererDir === undefined ? undefined : express.static(rendererDir, { index: false, redirect: false });
  return defineRoute({
    method: 'get',
    path: '/{*path}',
    auth: 'key',
    tag: 'renderer',
    summary: 'The Agented UI (static files of the built renderer); unknown paths fall back to index.html.',
    responses: {
      200: { description: 'A file of the UI', contentType: 'text/html' },
      401: { description: 'No session: open the login link printed by agented serve', schema: ErrorBody },
      404: { description: 'No such file or route', schema: ErrorBody },
    },
    handler: ({ req, res }) =>
      new Promise<void>((resolve, reject) => {
        const notFound = () => reject(new ApiError('ERR_NOT_FOUND'));
        if (API_PREFIXES.some((prefix) => req.path.startsWith(prefix)) || !serveStatic || !indexFile) {
          notFound();
          return;
        }
        res.once('close', () => resolve());
        serveStatic(req, res, (error?: unknown) => {
          if (error) {
            reject(error);
          } else if (req.accepts(['html', 'json']) === 'html' && fs.existsSync(indexFile)) {
            res.setHeader('Cache-Control', 'no-cache');
            res.sendFile(indexFile, (sendError) => (sendError ? reject(sendError) : resolve()));
          } else {
            notFound();
          }
        });
      }),
  });
}
