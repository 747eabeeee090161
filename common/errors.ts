import { z } from 'zod';

/**
 * Every error the API can answer with, by stable code. The HTTP status lives
 * beside the code so the server, the docs and the renderer agree on both.
 */
export const errorCatalogue = {
  ERR_UNAUTHORIZED: { status: 401, message: 'A valid API key or session is required.' },
  ERR_LOGIN_TOKEN_INVALID: { status: 401, message: 'This login link is invalid, expired or already used.' },
  ERR_HOST_NOT_ALLOWED: { status: 403, message: 'The Host header is not in the allowlist.' },
  ERR_ORIGIN_NOT_ALLOWED: { status: 403, message: 'Cross-origin state-changing requests are refused.' },
  ERR_NOT_FOUND: { status: 404, message: 'No such route.' },
  ERR_TRIGGER_NOT_FOUND: { status: 404, message: 'No trigger with this id.' },
  ERR_EXECUTION_NOT_FOUND: { status: 404, message: 'No execution with this id.' },
  ERR_ACCOUNT_NOT_FOUND: { status: 404, message: 'No account with this id.' },
  ERR_ACCOUNT_EXISTS: { status: 409, message: 'An account with this name already exists for that backend.' },
  ERR_BUDGET_NOT_FOUND: { status: 404, message: 'No budget with this id.' },
  ERR_NO_NOTIFICATION_CHANNEL: { status: 409, message: 'No notification channel is configured.' },
  ERR_KEY_FROM_ENVIRONMENT: { status: 409, message: 'The API key comes from AGENTED_API_KEY: set a new value there and restart Agented. Nothing was rotated.' },
  ERR_TRIGGER_DISABLED: { status: 409, message: 'The trigger is disabled.' },
  ERR_TRIGGER_KIND: { status: 409, message: 'This trigger kind does not accept that.' },
  ERR_EXECUTION_FINISHED: { status: 409, message: 'The execution has already finished.' },
  ERR_SIGNATURE_INVALID: { status: 401, message: 'The webhook signature is missing or does not match.' },
  ERR_BAD_JSON: { status: 400, message: 'The request body is not valid JSON.' },
  ERR_BAD_ENCODING: { status: 400, message: 'The request body is not valid UTF-8.' },
  ERR_VALIDATION: { status: 400, message: 'The request did not match the schema.' },
  ERR_BODY_TOO_LARGE: { status: 413, message: 'The request body is larger than the limit.' },
  ERR_UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'The request body must be application/json.' },
  ERR_BAD_REQUEST: { status: 400, message: 'The request could not be read.' },
  ERR_KEYCHAIN_UNAVAILABLE: { status: 503, message: 'The OS keychain cannot be used (locked or not running); nothing was changed.' },
  ERR_STORAGE_FULL: { status: 507, message: "The disk of Agented's data folder is full: nothing was stored. Free some space, then send it again." },
  ERR_INTERNAL: { status: 500, message: 'Internal error. The request id identifies it in the logs.' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof errorCatalogue;

export const errorCodes = Object.keys(errorCatalogue) as [ErrorCode, ...ErrorCode[]];

export const ErrorBody = z
  .object({
    error: z.object({
      code: z.enum(errorCodes),
      message: z.string(),
      requestId: z.string().optional(),
      issues: z
        .array(z.object({ path: z.string(), message: z.string() }))
        .optional()
        .describe('Present on ERR_VALIDATION: one entry per failing field.'),
    }),
  })
  .meta({ id: 'Error' });
export type ErrorBody = z.infer<typeof ErrorBody>;
