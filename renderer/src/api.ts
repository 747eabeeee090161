import { HealthReady } from '../../common/api.js';
import { ErrorBody } from '../../common/errors.js';

/** A failed API call, with the server's coded error when it sent one. */
export class ApiCallError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

async function getJson<T>(path: string, schema: { parse(value: unknown): T }): Promise<T> {
  const response = await fetch(path, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
  const body: unknown = await response.json().catch(() => undefined);
  if (!response.ok && response.status !== 503) {
    const parsed = ErrorBody.safeParse(body);
    throw parsed.success
      ? new ApiCallError(response.status, parsed.data.error.code, parsed.data.error.message)
      : new ApiCallError(response.status, 'ERR_UNKNOWN', `HTTP ${response.status}`);
  }
  return schema.parse(body);
}

export const api = {
  readiness: () => getJson('/health/ready', HealthReady),
};
