import type http from 'node:http';
import { randomBytes } from 'node:crypto';
import { startStandIn, writeSse, type RecordedRequest, type StandIn } from './server.js';

/**
 * What the stand-in answers to one generate call. Shapes follow Google's
 * Gemini API reference: `GenerateContentResponse` for
 * `models.generateContent` and, one per server-sent event, for
 * `models.streamGenerateContent?alt=sse`
 * (https://ai.google.dev/api/generate-content), and the error body every
 * Google API shares (https://ai.google.dev/gemini-api/docs/troubleshooting,
 * https://cloud.google.com/apis/design/errors).
 */
export type GeminiReply =
  | { text: string }
  | { functionCall: { name: string; args: Record<string, unknown> } }
  | { status: number; body?: unknown; headers?: Record<string, string> }
  | { hangAfterText: string };

/** The canonical `google.rpc.Code` name for each HTTP status Google maps one to. */
const STATUS_NAMES: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

const STATUS_MESSAGES: Record<number, string> = {
  400: 'API key not valid. Please pass a valid API key.',
  401: 'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.',
  403: 'Method doesn\'t allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.',
  429: 'You exceeded your current quota, please check your plan and billing details.',
  500: 'An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting',
  503: 'The model is overloaded. Please try again later.',
};

/** Google's error body: `{error: {code, message, status, details?}}`. */
export function googleError(code: number, message?: string, details?: unknown[]): unknown {
  const status = STATUS_NAMES[code] ?? (code >= 500 ? 'INTERNAL' : 'FAILED_PRECONDITION');
  return { error: { code, message: message ?? STATUS_MESSAGES[code] ?? `HTTP ${code}`, status, ...(details ? { details } : {}) } };
}

/** A `google.rpc.RetryInfo` detail: how long the client should wait, as a protobuf Duration ("22s", "0.5s"). */
export function retryInfo(retryDelay: string): unknown {
  return { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay };
}

/** A `google.rpc.QuotaFailure` detail naming the quota that ran out (a per-minute or per-day quota id). */
export function quotaFailure(quotaId: string, model: string): unknown {
  return {
    '@type': 'type.googleapis.com/google.rpc.QuotaFailure',
    violations: [
      {
        quotaMetric: 'generativelanguage.googleapis.com/generate_content_free_tier_requests',
        quotaId,
        quotaDimensions: { location: 'global', model },
        quotaValue: '250',
      },
    ],
  };
}

/** A rough, deterministic token count (~4 characters a token) — the CLI only reports it back. */
function tokensOf(value: unknown): number {
  return Math.max(1, Math.ceil(JSON.stringify(value ?? '').length / 4));
}

/** The conversation a generate or countTokens request carries. */
function contentsOf(body: unknown): unknown[] {
  const contents = typeof body === 'object' && body !== null ? (body as { contents?: unknown }).contents : undefined;
  return Array.isArray(contents) ? contents : [];
}

type Part = { text: string } | { functionCall: { name: string; args: Record<string, unknown> } };

interface Candidate {
  content: { role: 'model'; parts: Part[] };
  finishReason?: 'STOP';
  index: 0;
}

function candidate(parts: Part[], finished: boolean): Candidate {
  return { content: { role: 'model', parts }, ...(finished ? { finishReason: 'STOP' as const } : {}), index: 0 };
}

/** One `GenerateContentResponse`; usage only on the one that finishes the answer. */
function generateContentResponse(model: string, responseId: string, parts: Part[], usage: { prompt: number; candidates: number } | null): unknown {
  return {
    candidates: [candidate(parts, usage !== null)],
    ...(usage ? { usageMetadata: { promptTokenCount: usage.prompt, candidatesTokenCount: usage.candidates, totalTokenCount: usage.prompt + usage.candidates } } : {}),
    modelVersion: model,
    responseId,
  };
}

function sendJson(response: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', ...headers });
  response.end(JSON.stringify(body));
}

function startStream(response: http.ServerResponse): void {
  response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
}

/** Text in two pieces, so the CLI sees a stream of deltas, not one block. */
function pieces(text: string): string[] {
  const middle = Math.ceil(text.length / 2);
  return text.length < 2 ? [text] : [text.slice(0, middle), text.slice(middle)];
}

type Method = 'generateContent' | 'streamGenerateContent' | 'countTokens';

/** `/v1beta/models/{model}:{method}`, the path the Gemini API names its methods by. */
function methodOf(pathname: string): { model: string; method: Method } | null {
  const match = /^\/v1(?:beta|alpha)?\/models\/([^/:]+):(generateContent|streamGenerateContent|countTokens)$/.exec(pathname);
  return match ? { model: decodeURIComponent(match[1] ?? ''), method: match[2] as Method } : null;
}

function answer(response: http.ServerResponse, recorded: RecordedRequest, model: string, streamed: boolean, reply: GeminiReply): void {
  const responseId = randomBytes(9).toString('base64url');
  if ('status' in reply) {
    sendJson(response, reply.status, reply.body ?? googleError(reply.status), reply.headers);
    return;
  }
  if ('hangAfterText' in reply) {
    // A unary call cannot stop halfway: it just never answers. A stream is left open on purpose: the stand-in's close() ends it.
    if (!streamed) return;
    startStream(response);
    writeSse(response, generateContentResponse(model, responseId, [{ text: reply.hangAfterText }], null));
    return;
  }
  const parts: Part[][] = 'text' in reply ? pieces(reply.text).map((text) => [{ text }]) : [[{ functionCall: reply.functionCall }]];
  const usage = { prompt: tokensOf(contentsOf(recorded.body)), candidates: tokensOf('text' in reply ? reply.text : reply.functionCall) };
  if (!streamed) {
    sendJson(response, 200, generateContentResponse(model, responseId, parts.flat(), usage));
    return;
  }
  startStream(response);
  parts.forEach((chunk, index) => writeSse(response, generateContentResponse(model, responseId, chunk, index === parts.length - 1 ? usage : null)));
  response.end();
}

/**
 * A stand-in for the Gemini API (generativelanguage.googleapis.com).
 * `respond` decides each `generateContent` and `streamGenerateContent` call
 * (the CLI streams its turns; `index` counts those calls from 0, both
 * methods together). `countTokens` is answered from the request's size, and
 * any other path with Google's 404 error.
 */
export function startGeminiStandIn(respond: (request: RecordedRequest, index: number) => GeminiReply): Promise<StandIn> {
  let index = 0;
  return startStandIn((recorded, response) => {
    const url = new URL(recorded.path, 'http://stand-in');
    const target = recorded.method === 'POST' ? methodOf(url.pathname) : null;
    if (target?.method === 'countTokens') {
      sendJson(response, 200, { totalTokens: tokensOf(contentsOf(recorded.body)) });
    } else if (target) {
      const streamed = target.method === 'streamGenerateContent';
      if (streamed && url.searchParams.get('alt') !== 'sse') {
        sendJson(response, 400, googleError(400, 'The stand-in streams server-sent events only (alt=sse).'));
        return;
      }
      answer(response, recorded, target.model, streamed, respond(recorded, index++));
    } else {
      sendJson(response, 404, googleError(404, `${recorded.method} ${url.pathname} is not served by the stand-in`));
    }
  });
}

/** The function responses a generate request carries back to the model (the CLI's tool results). */
export function functionResponses(body: unknown): { name: string; response: unknown }[] {
  return contentsOf(body).flatMap((content: unknown) => {
    const parts = typeof content === 'object' && content !== null ? (content as { parts?: unknown }).parts : undefined;
    if (!Array.isArray(parts)) return [];
    return parts.flatMap((part: unknown) => {
      const functionResponse = typeof part === 'object' && part !== null ? (part as { functionResponse?: { name?: unknown; response?: unknown } }).functionResponse : undefined;
      return functionResponse && typeof functionResponse.name === 'string' ? [{ name: functionResponse.name, response: functionResponse.response }] : [];
    });
  });
}

/** Replies the function call until the request carries its function response, then text. */
export function toolThenText(name: string, args: Record<string, unknown>, text: string): (request: RecordedRequest) => GeminiReply {
  return (request) => (functionResponses(request.body).some((response) => response.name === name) ? { text } : { functionCall: { name, args } });
}
