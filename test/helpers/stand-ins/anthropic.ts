import type http from 'node:http';
import { randomBytes } from 'node:crypto';
import { startStandIn, writeSse, type RecordedRequest, type StandIn } from './server.js';

/**
 * What the stand-in answers to one `POST /v1/messages`. Shapes follow
 * Anthropic's documentation: streaming (https://docs.anthropic.com/en/docs/build-with-claude/streaming)
 * and errors (https://docs.anthropic.com/en/api/errors).
 */
export type AnthropicReply =
  | { text: string }
  | { toolUse: { name: string; input: unknown } }
  | { status: number; body?: unknown; headers?: Record<string, string> }
  | { hangAfterText: string };

const ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  529: 'overloaded_error',
};

const ERROR_MESSAGES: Record<string, string> = {
  authentication_error: 'invalid x-api-key',
  rate_limit_error: 'Number of request tokens has exceeded your per-minute rate limit',
  api_error: 'Internal server error',
  overloaded_error: 'Overloaded',
};

/** The model the stand-in names when a request names none, and lists at `GET /v1/models`. */
export const STAND_IN_MODEL = 'claude-stand-in';

function anthropicId(prefix: string): string {
  return `${prefix}_${randomBytes(12).toString('hex')}`;
}

/** Anthropic's documented error body: `{type: 'error', error: {type, message}}`. */
export function anthropicError(status: number, message?: string): unknown {
  const type = ERROR_TYPES[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error');
  return { type: 'error', error: { type, message: message ?? ERROR_MESSAGES[type] ?? `HTTP ${status}` } };
}

/** A rough, deterministic token count (~4 characters a token) — the CLI only reports it back. */
function tokensOf(value: unknown): number {
  return Math.max(1, Math.ceil(JSON.stringify(value ?? '').length / 4));
}

interface MessagesRequest {
  model: string;
  stream: boolean;
}

function messagesRequest(body: unknown): MessagesRequest {
  const fields = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  return { model: typeof fields.model === 'string' ? fields.model : STAND_IN_MODEL, stream: fields.stream === true };
}

type ContentBlock = { type: 'text'; text: string } | { type: 'tool_use'; id: string; name: string; input: unknown };

function sendJson(response: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'content-type': 'application/json', 'request-id': anthropicId('req'), ...headers });
  response.end(JSON.stringify(body));
}

function startStream(response: http.ServerResponse, model: string, inputTokens: number): void {
  response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'request-id': anthropicId('req') });
  writeSse(
    response,
    {
      type: 'message_start',
      message: {
        id: anthropicId('msg'),
        type: 'message',
        role: 'assistant',
        content: [],
        model,
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: inputTokens, output_tokens: 1, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
      },
    },
    'message_start',
  );
}

/** One content block as `content_block_start`, its deltas, `content_block_stop`. */
function streamBlock(response: http.ServerResponse, index: number, block: ContentBlock): void {
  if (block.type === 'text') {
    writeSse(response, { type: 'content_block_start', index, content_block: { type: 'text', text: '' } }, 'content_block_start');
    writeSse(response, { type: 'ping' }, 'ping');
    writeSse(response, { type: 'content_block_delta', index, delta: { type: 'text_delta', text: block.text } }, 'content_block_delta');
  } else {
    writeSse(response, { type: 'content_block_start', index, content_block: { type: 'tool_use', id: block.id, name: block.name, input: {} } }, 'content_block_start');
    // The documentation shows tool input arriving as partial JSON strings that only parse once joined.
    const json = JSON.stringify(block.input ?? {});
    const middle = Math.floor(json.length / 2);
    for (const partial of [json.slice(0, middle), json.slice(middle)]) {
      writeSse(response, { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: partial } }, 'content_block_delta');
    }
  }
  writeSse(response, { type: 'content_block_stop', index }, 'content_block_stop');
}

function answerMessage(response: http.ServerResponse, request: MessagesRequest, inputTokens: number, block: ContentBlock): void {
  const stopReason = block.type === 'tool_use' ? 'tool_use' : 'end_turn';
  const outputTokens = tokensOf(block.type === 'text' ? block.text : block.input);
  if (!request.stream) {
    sendJson(response, 200, {
      id: anthropicId('msg'),
      type: 'message',
      role: 'assistant',
      content: [block],
      model: request.model,
      stop_reason: stopReason,
      stop_sequence: null,
      usage: { input_tokens: inputTokens, output_tokens: outputTokens, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
    });
    return;
  }
  startStream(response, request.model, inputTokens);
  streamBlock(response, 0, block);
  writeSse(response, { type: 'message_delta', delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: outputTokens } }, 'message_delta');
  writeSse(response, { type: 'message_stop' }, 'message_stop');
  response.end();
}

function answer(response: http.ServerResponse, recorded: RecordedRequest, reply: AnthropicReply): void {
  const request = messagesRequest(recorded.body);
  const inputTokens = tokensOf(recorded.body);
  if ('status' in reply) {
    sendJson(response, reply.status, reply.body ?? anthropicError(reply.status), reply.headers);
  } else if ('text' in reply) {
    answerMessage(response, request, inputTokens, { type: 'text', text: reply.text });
  } else if ('toolUse' in reply) {
    answerMessage(response, request, inputTokens, { type: 'tool_use', id: anthropicId('toolu'), name: reply.toolUse.name, input: reply.toolUse.input });
  } else if (!request.stream) {
    // A non-streamed call cannot stop halfway: it just never answers.
    return;
  } else {
    startStream(response, request.model, inputTokens);
    writeSse(response, { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }, 'content_block_start');
    writeSse(response, { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: reply.hangAfterText } }, 'content_block_delta');
    // Left open on purpose: the stand-in's close() ends it.
  }
}

/**
 * A stand-in for Anthropic's Messages API. `respond` decides each
 * `POST /v1/messages` (with any query string, as the CLI adds `?beta=true`);
 * `index` counts those requests from 0. Token counting is answered from the
 * request's size, the model list with one model, and any other path with
 * Anthropic's 404 error.
 */
export function startAnthropicStandIn(respond: (request: RecordedRequest, index: number) => AnthropicReply): Promise<StandIn> {
  let index = 0;
  return startStandIn((recorded, response) => {
    const pathname = new URL(recorded.path, 'http://stand-in').pathname;
    if (recorded.method === 'POST' && pathname === '/v1/messages') {
      answer(response, recorded, respond(recorded, index++));
    } else if (recorded.method === 'POST' && pathname === '/v1/messages/count_tokens') {
      sendJson(response, 200, { input_tokens: tokensOf(recorded.body) });
    } else if (recorded.method === 'GET' && pathname === '/v1/models') {
      const model = { type: 'model', id: STAND_IN_MODEL, display_name: 'Claude stand-in', created_at: '2026-01-01T00:00:00Z' };
      sendJson(response, 200, { data: [model], has_more: false, first_id: model.id, last_id: model.id });
    } else {
      sendJson(response, 404, anthropicError(404, `${recorded.method} ${pathname} is not served by the stand-in`));
    }
  });
}

function carriesToolResult(body: unknown): boolean {
  if (typeof body !== 'object' || body === null) return false;
  const messages = (body as { messages?: unknown }).messages;
  if (!Array.isArray(messages)) return false;
  return messages.some((message: unknown) => {
    const content = typeof message === 'object' && message !== null ? (message as { content?: unknown }).content : undefined;
    return Array.isArray(content) && content.some((block: unknown) => typeof block === 'object' && block !== null && (block as { type?: unknown }).type === 'tool_result');
  });
}

/** Replies toolUse until the conversation carries a tool_result, then text. */
export function toolThenText(name: string, input: unknown, text: string): (request: RecordedRequest) => AnthropicReply {
  return (request) => (carriesToolResult(request.body) ? { text } : { toolUse: { name, input } });
}
