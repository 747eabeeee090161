import { ZodError } from 'zod';
import { errorCatalogue, type ErrorBody, type ErrorCode } from '../../common/errors.js';
import { KeychainUnavailableError } from '../secrets/keychain.js';

/** An error with a stable code and the HTTP status it is answered with. */
export class ApiError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message?: string,
    readonly issues?: { path: string; message: string }[],
  ) {
    super(message ?? errorCatalogue[code].message);
    this.name = 'ApiError';
    this.status = errorCatalogue[code].status;
  }

  toBody(requestId: string | undefined): ErrorBody {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(requestId ? { requestId } : {}),
        ...(this.issues ? { issues: this.issues } : {}),
      },
    };
  }
}

/**
 * Maps the errors Express and body-parser raise (they carry `type` and
 * `status`) to our codes; anything else is an internal error.
 */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  // Its message says how to unlock the keychain and holds no secret.
  if (error instanceof KeychainUnavailableError) return new ApiError('ERR_KEYCHAIN_UNAVAILABLE', error.message);
  if (error instanceof ZodError) {
    // A domain re-validating a merged object (a PATCH applied to what is stored).
    return new ApiError(
      'ERR_VALIDATION',
      undefined,
      error.issues.map((issue) => ({ path: ['body', ...issue.path.map(String)].join('.'), message: issue.message })),
    );
  }
  const { type, status } = (error ?? {}) as { type?: unknown; status?: unknown };
  switch (type) {
    case 'entity.too.large':
      return new ApiError('ERR_BODY_TOO_LARGE');
    case 'entity.parse.failed':
      return new ApiError('ERR_BAD_JSON');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new ApiError('ERR_UNSUPPORTED_MEDIA_TYPE', 'The request body must be UTF-8 encoded application/json.');
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
      return new ApiError('ERR_BAD_REQUEST');
    default:
      break;
  }
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new ApiError('ERR_BAD_REQUEST');
  }
  // SQLite could not grow the database or its WAL (ENOSPC): the transaction was rolled back, and a sender that retries a 5xx loses nothing.
  if ((error as { code?: unknown } | undefined)?.code === 'SQLITE_FULL') return new ApiError('ERR_STORAGE_FULL');
  return new ApiError('ERR_INTERNAL');
}
