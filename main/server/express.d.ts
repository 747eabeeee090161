import type { Logger } from '../telemetry/logger.js';
import type { BrowserSession } from './session.js';

declare global {
  namespace Express {
    interface Request {
      requestId: string;
      log: Logger;
      /** `session`: the browser session of a cookie-authenticated request (renewed, rotated into a new cookie, or revoked by its routes). */
      auth?: { method: 'key' | 'cookie' | 'login-token'; session?: BrowserSession };
    }
  }
}

export {};
