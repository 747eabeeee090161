import type { IncomingMessage, ServerResponse } from 'node:http';
import express, { type Express, type RequestHandler } from 'express';
import helmet from 'helmet';
import type { HealthReady } from '../../common/api.js';
import type { Logger } from '../telemetry/logger.js';
import { ApiError } from './errors.js';
import { authenticate } from './middleware/authenticate.js';
import { cors } from './middleware/cors.js';
import { errorHandler, notFound } from './middleware/error-handler.js';
import { hostAllowlist } from './middleware/host-allowlist.js';
import { requestContext } from './middleware/request-id.js';
import type { Route } from './route.js';
import { buildRouter } from './router.js';
import { healthRoutes } from './routes/health.js';
import { openApiRoute } from './routes/openapi.js';
import { rendererRoutes } from './routes/renderer.js';
import { sessionRoutes } from './routes/session.js';
import { settingsRoutes, type SettingsDependencies } from './routes/settings.js';
import type { LoginTokens, SessionCookies } from './session.js';
import { fixedHeadersOf, hookFastPath, type HookHandler } from './hooks-handler.js';
import { hookRoutes } from './routes/hooks.js';

export interface AppDependencies {
  logger: Logger;
  version: string;
  /** The current API key; a function so a rotated key takes effect without a rebuild. */
  apiKey: () => string;
  sessions: SessionCookies;
  loginTokens: LoginTokens;
  readiness: () => Promise<HealthReady>;
  /** Host names accepted in the Host header (see allowedHostnames). */
  allowedHosts: readonly string[];
  corsOrigins: readonly string[];
  maxBodyBytes: number;
  /** Folder of the built renderer; undefined serves no UI. */
  rendererDir: string | undefined;
  settings: SettingsDependencies;
  /** Routes contributed by the domains (triggers, executions …), mounted before the UI fallback. */
  extraRoutes?: readonly Route[];
  /** Webhook deliveries (`POST /hooks/:triggerId`). */
  hooks?: HookHandler;
}

export interface App {
  express: Express;
  /** What the HTTP server calls: webhook deliveries take a fast path around Express, everything else goes through it. */
  requestListener: (req: IncomingMessage, res: ServerResponse) => void;
  /** Every route, in mount order: the source of the router, the OpenAPI document and the auth matrix. */
  routes: readonly Route[];
}

/** Host names a server bound to `host` must accept: loopback names, the bound host, and the configured ones. */
export function allowedHostnames(host: string, configured: readonly string[]): string[] {
  const names = new Set(['127.0.0.1', 'localhost', '[::1]', ...configured.map((name) => name.toLowerCase())]);
  if (host !== '0.0.0.0' && host !== '::') names.add(host.includes(':') ? `[${host}]` : host.toLowerCase());
  return [...names];
}

/** Builds the HTTP application. It does not listen: the caller decides where (tests use port 0). */
export function buildApp(deps: AppDependencies): App {
  const routes: Route[] = [
    ...healthRoutes({ readiness: deps.readiness }),
    ...sessionRoutes({ sessions: deps.sessions, loginTokens: deps.loginTokens }),
    ...settingsRoutes(deps.settings),
    openApiRoute(() => routes, deps.version),
    ...(deps.extraRoutes ?? []),
    ...(deps.hooks ? hookRoutes({ handle: deps.hooks }) : []),
    ...rendererRoutes(deps.rendererDir),
  ];
  const context = requestContext(deps.logger);
  const hosts = hostAllowlist(deps.allowedHosts);
  const corsPolicy = cors(deps.corsOrigins);
  const securityHeaders = helmet({
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        fontSrc: ["'self'"],
        objectSrc: ["'none'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
        formAction: ["'self'"],
        upgradeInsecureRequests: null,
      },
    },
    // Plain HTTP on loopback: HSTS would be meaningless and sticky.
    strictTransportSecurity: false,
    crossOriginResourcePolicy: { policy: 'same-origin' },
  });

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.set('etag', false);

  app.use(context);
  app.use(hosts);
  app.use(securityHeaders);
  app.use(corsPolicy);
  app.use(optionsAsUnknown(authenticate('key', { apiKey: deps.apiKey, sessions: deps.sessions })));
  app.use(buildRouter(routes, { apiKey: deps.apiKey, sessions: deps.sessions, maxBodyBytes: deps.maxBodyBytes }));
  // An unknown path says nothing about which paths exist until the caller is authenticated.
  app.use(authenticate('key', { apiKey: deps.apiKey, sessions: deps.sessions }), notFound);
  app.use(errorHandler);

  const fastPath = deps.hooks
    ? hookFastPath(deps.hooks, [requestContext(deps.logger, { deferHeader: true }), hosts, corsPolicy], fixedHeadersOf(securityHeaders as Parameters<typeof fixedHeadersOf>[0]))
    : undefined;
  return {
    express: app,
    routes,
    requestListener: (req, res) => {
      if (!fastPath?.(req, res)) app(req, res);
    },
  };
}

/**
 * Express answers an OPTIONS itself, before any route's authentication, with the methods its path
 * has (an Allow list): a map of the API for anyone who asks. Preflights end in cors(); any other
 * OPTIONS is answered as an unknown path is — 401 without the key, 404 with it.
 */
function optionsAsUnknown(authenticateKey: RequestHandler): RequestHandler {
  return (req, res, next) => {
    if (req.method !== 'OPTIONS') {
      next();
      return;
    }
    authenticateKey(req, res, (error?: unknown) => next(error ?? new ApiError('ERR_NOT_FOUND')));
  };
}
