import type { Logger } from '../telemetry/logger.js';

declare global {
  namespace Express {
    interface Request {
      requestId: string;
      log: Logger;
      auth?: { method: 'key' | 'cookie' | 'login-token'; expiresAt?: Date };
    }
  }
}

export {};
