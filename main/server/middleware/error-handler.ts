import type { ErrorRequestHandler, RequestHandler } from 'express';
import { ApiError, toApiError } from '../errors.js';

export const notFound: RequestHandler = (_req, _res, next) => {
  next(new ApiError('ERR_NOT_FOUND'));
};

const LOGIN_HINT_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Agented — sign in</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 4rem auto; line-height: 1.5">
<h1>Sign in to Agented</h1>
<p>This page needs a session. Open the one-time login link that <code>agented serve</code> printed
(it works once, for a few minutes), or <a href="/login">sign in with the API key</a>
(<code>agented key show</code> prints it).</p>
<p>Scripts authenticate with <code>Authorization: Bearer &lt;key&gt;</code>; <code>agented key show</code> prints the key.</p>
</body></html>`;

/**
 * The message of a refused request's error, for the log. JSON.parse quotes up to a few dozen
 * characters of the body around an unexpected token (`Unexpected token 's', ..."apiKey": sk-ant-…"...
 * is not valid JSON`), and a body can hold a secret (an account's key, a webhook secret): such a
 * message is cut to the kind of fault. The other parse messages give a position, not text.
 */
function loggableMessage(error: unknown): string | undefined {
  const message = (error as Error | undefined)?.message;
  if (message?.endsWith(' is not valid JSON')) return message.startsWith('Unexpected token') ? 'Unexpected token in JSON' : 'Not valid JSON';
  return message;
}

/**
 * The one place errors become responses: coded errors as JSON with their
 * status; anything unknown is logged with its stack and answered as a bare
 * 500, so no internals leak.
 */
export const errorHandler: ErrorRequestHandler = (error, req, res, next) => {
  if (res.headersSent) {
    next(error);
    return;
  }
  const apiError = toApiError(error);
  if (apiError.status >= 500) {
    req.log?.error('request failed', { err: error });
  } else if (!(error instanceof ApiError)) {
    req.log?.debug('request rejected', { code: apiError.code, err_message: loggableMessage(error) });
  }
  if (apiError.status === 401 && req.method === 'GET' && req.accepts(['json', 'html']) === 'html') {
    res.status(401).type('html').send(LOGIN_HINT_PAGE);
    return;
  }
  res.status(apiError.status).json(apiError.toBody(req.requestId));
};
