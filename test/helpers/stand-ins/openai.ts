import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import { startStandIn, writeSse, type RecordedRequest, type StandIn } from './server.js';

/**
 * What the stand-in answers to one `POST /v1/responses`. Shapes follow
 * OpenAI's documentation of the Responses API: streaming events
 * (https://platform.openai.com/docs/api-reference/responses-streaming),
 * error codes (https://platform.openai.com/docs/guides/error-codes) and
 * rate-limit headers (https://platform.openai.com/docs/guides/rate-limits).
 *
 * `functionCall` is a `function_call` output item, a call to one of the
 * function tools the request declares (Codex 0.171 declares its shell as
 * `exec_command`, arguments `{cmd}`); `customToolCall` a `custom_tool_call`,
 * a call to a free-form tool (Codex declares `apply_patch` as one for models
 * it knows, such as gpt-5.5, and not for a model it has no metadata for). The
 * call id defaults to one fixed id, so `toolThenText` can recognise the call's
 * output in the next request.
 */
export type ToolCallReply =
  | { functionCall: { name: string; arguments: unknown; callId?: string } }
  | { customToolCall: { name: string; input: string; callId?: string } };

export type OpenAiReply =
  | { text: string }
  | ToolCallReply
  | { status: number; body?: unknown; headers?: Record<string, string> }
  | { hangAfterText: string };

export const STAND_IN_CALL_ID = 'call_stand_in_1';

const ERRORS: Record<number, { message: string; type: string; code: string | null }> = {
  400: { message: 'Invalid request.', type: 'invalid_request_error', code: null },
  401: {
    message: 'Incorrect API key provided: sk-stand*****. You can find your API key at https://platform.openai.com/account/api-keys.',
    type: 'invalid_request_error',
    code: 'invalid_api_key',
  },
  403: { message: 'You are not allowed to sample from this model', type: 'invalid_request_error', code: null },
  404: { message: 'The model `unknown` does not exist or you do not have access to it.', type: 'invalid_request_error', code: 'model_not_found' },
  429: {
    message: 'Rate limit reached for gpt-stand-in in organization org-stand-in on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in 20s.',
    type: 'requests',
    code: 'rate_limit_exceeded',
  },
  500: { message: 'The server had an error while processing your request. Sorry about that!', type: 'server_error', code: null },
  503: { message: 'The engine is currently overloaded, please try again later', type: 'server_error', code: null },
};

/** What OpenAI sends with a 429: when each limit resets, and Retry-After in seconds. */
export const RATE_LIMIT_HEADERS: Record<string, string> = {
  'retry-after': '20',
  'x-ratelimit-limit-requests': '3',
  'x-ratelimit-remaining-requests': '0',
  'x-ratelimit-reset-requests': '20s',
  'x-ratelimit-limit-tokens': '150000',
  'x-ratelimit-remaining-tokens': '149984',
  'x-ratelimit-reset-tokens': '6m0s',
};

function openAiId(prefix: string): string {
  return `${prefix}_${randomBytes(12).toString('hex')}`;
}

/** OpenAI's documented error body: `{error: {message, type, param, code}}`. */
export function openAiError(status: number, message?: string): unknown {
  const known = ERRORS[status] ?? (status >= 500 ? ERRORS[500]! : ERRORS[400]!);
  return { error: { message: message ?? known.message, type: known.type, param: null, code: known.code } };
}

/**
 * OpenAI's answer (with a 429) to a key whose organisation has no credit left
 * (https://platform.openai.com/docs/guides/error-codes: "You exceeded your current quota").
 */
export const INSUFFICIENT_QUOTA = {
  error: { message: 'You exceeded your current quota, please check your plan and billing details.', type: 'insufficient_quota', param: null, code: 'insufficient_quota' },
};

/** A rough, deterministic token count (~4 characters a token) — the CLI only reports it back. */
function tokensOf(value: unknown): number {
  return Math.max(1, Math.ceil(JSON.stringify(value ?? '').length / 4));
}

function modelOf(body: unknown): string {
  const model = typeof body === 'object' && body !== null ? (body as { model?: unknown }).model : undefined;
  return typeof model === 'string' ? model : 'gpt-stand-in';
}

function sendJson(response: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'content-type': 'application/json', 'x-request-id': openAiId('req'), ...headers });
  response.end(JSON.stringify(body));
}

type OutputItem =
  | { id: string; type: 'message'; status: 'completed'; role: 'assistant'; content: { type: 'output_text'; text: string; annotations: [] }[] }
  | { id: string; type: 'function_call'; status: 'completed'; call_id: string; name: string; arguments: string }
  | { id: string; type: 'custom_tool_call'; status: 'completed'; call_id: string; name: string; input: string };

/** One streamed response: every event carries its type as the SSE event name and a growing sequence_number. */
class ResponseStream {
  private sequence = 0;
  private readonly response: Record<string, unknown>;

  constructor(
    private readonly target: http.ServerResponse,
    model: string,
  ) {
    this.response = {
      id: openAiId('resp'),
      object: 'response',
      created_at: Math.floor(Date.now() / 1000),
      status: 'in_progress',
      error: null,
      incomplete_details: null,
      model,
      output: [],
      parallel_tool_calls: true,
      tool_choice: 'auto',
      usage: null,
    };
    target.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-request-id': openAiId('req') });
    this.send({ type: 'response.created', response: this.response });
    this.send({ type: 'response.in_progress', response: this.response });
  }

  send(event: { type: string } & Record<string, unknown>): void {
    writeSse(this.target, { ...event, sequence_number: this.sequence++ }, event.type);
  }

  /** The events of a text message up to (not including) its end; returns the item id. */
  beginText(text: string): string {
    const id = openAiId('msg');
    this.send({ type: 'response.output_item.added', output_index: 0, item: { id, type: 'message', status: 'in_progress', role: 'assistant', content: [] } });
    this.send({ type: 'response.content_part.added', item_id: id, output_index: 0, content_index: 0, part: { type: 'output_text', text: '', annotations: [] } });
    // Deltas arrive word by word; the client has to join them.
    for (const delta of text.match(/\S+\s*|\s+/g) ?? []) {
      this.send({ type: 'response.output_text.delta', item_id: id, output_index: 0, content_index: 0, delta, logprobs: [] });
    }
    return id;
  }

  endText(id: string, text: string): OutputItem {
    this.send({ type: 'response.output_text.done', item_id: id, output_index: 0, content_index: 0, text, logprobs: [] });
    const part = { type: 'output_text' as const, text, annotations: [] as [] };
    this.send({ type: 'response.content_part.done', item_id: id, output_index: 0, content_index: 0, part });
    const item: OutputItem = { id, type: 'message', status: 'completed', role: 'assistant', content: [part] };
    this.send({ type: 'response.output_item.done', output_index: 0, item });
    return item;
  }

  functionCall(name: string, args: string, callId: string): OutputItem {
    const id = openAiId('fc');
    this.send({ type: 'response.output_item.added', output_index: 0, item: { id, type: 'function_call', status: 'in_progress', call_id: callId, name, arguments: '' } });
    const middle = Math.floor(args.length / 2);
    // The documentation shows arguments as JSON fragments that only parse once joined.
    for (const delta of [args.slice(0, middle), args.slice(middle)]) {
      this.send({ type: 'response.function_call_arguments.delta', item_id: id, output_index: 0, delta });
    }
    this.send({ type: 'response.function_call_arguments.done', item_id: id, output_index: 0, name, arguments: args });
    const item: OutputItem = { id, type: 'function_call', status: 'completed', call_id: callId, name, arguments: args };
    this.send({ type: 'response.output_item.done', output_index: 0, item });
    return item;
  }

  customToolCall(name: string, input: string, callId: string): OutputItem {
    const id = openAiId('ctc');
    this.send({ type: 'response.output_item.added', output_index: 0, item: { id, type: 'custom_tool_call', status: 'in_progress', call_id: callId, name, input: '' } });
    this.send({ type: 'response.custom_tool_call_input.delta', item_id: id, output_index: 0, delta: input });
    this.send({ type: 'response.custom_tool_call_input.done', item_id: id, output_index: 0, input });
    const item: OutputItem = { id, type: 'custom_tool_call', status: 'completed', call_id: callId, name, input };
    this.send({ type: 'response.output_item.done', output_index: 0, item });
    return item;
  }

  complete(item: OutputItem, inputTokens: number, outputTokens: number): void {
    const usage = {
      input_tokens: inputTokens,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: outputTokens,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: inputTokens + outputTokens,
    };
    this.send({ type: 'response.completed', response: { ...this.response, status: 'completed', output: [item], usage } });
    this.target.end();
  }
}

function answer(response: http.ServerResponse, recorded: RecordedRequest, reply: OpenAiReply): void {
  if ('status' in reply) {
    const headers = reply.status === 429 ? { ...RATE_LIMIT_HEADERS, ...reply.headers } : reply.headers;
    sendJson(response, reply.status, reply.body ?? openAiError(reply.status), headers);
    return;
  }
  const stream = new ResponseStream(response, modelOf(recorded.body));
  const inputTokens = tokensOf(recorded.body);
  if ('text' in reply) {
    const item = stream.endText(stream.beginText(reply.text), reply.text);
    stream.complete(item, inputTokens, tokensOf(reply.text));
  } else if ('functionCall' in reply) {
    const { name, callId = STAND_IN_CALL_ID } = reply.functionCall;
    const args = typeof reply.functionCall.arguments === 'string' ? reply.functionCall.arguments : JSON.stringify(reply.functionCall.arguments);
    stream.complete(stream.functionCall(name, args, callId), inputTokens, tokensOf(args));
  } else if ('customToolCall' in reply) {
    const { name, input, callId = STAND_IN_CALL_ID } = reply.customToolCall;
    stream.complete(stream.customToolCall(name, input, callId), inputTokens, tokensOf(input));
  } else {
    stream.beginText(reply.hangAfterText);
    // Left open on purpose: the stand-in's close() ends it.
  }
}

/**
 * A stand-in for OpenAI's Responses API. `respond` decides each
 * `POST /v1/responses`; `index` counts those requests from 0. Any other path
 * gets OpenAI's 404 error.
 */
export function startOpenAiStandIn(respond: (request: RecordedRequest, index: number) => OpenAiReply): Promise<StandIn> {
  let index = 0;
  return startStandIn((recorded, response) => {
    const pathname = new URL(recorded.path, 'http://stand-in').pathname;
    if (recorded.method === 'POST' && pathname === '/v1/responses') {
      answer(response, recorded, respond(recorded, index++));
    } else {
      sendJson(response, 404, { error: { message: `Invalid URL (${recorded.method} ${pathname})`, type: 'invalid_request_error', param: null, code: null } });
    }
  });
}

/** The tool outputs a Responses request sends back (`function_call_output`, `custom_tool_call_output`): the client's answers to earlier calls. */
export function toolCallOutputs(body: unknown): { type: string; call_id: string; output: unknown }[] {
  const input = typeof body === 'object' && body !== null ? (body as { input?: unknown }).input : undefined;
  if (!Array.isArray(input)) return [];
  return input.filter((item: unknown): item is { type: string; call_id: string; output: unknown } => {
    const fields = typeof item === 'object' && item !== null ? (item as { type?: unknown; call_id?: unknown }) : {};
    return (fields.type === 'function_call_output' || fields.type === 'custom_tool_call_output') && typeof fields.call_id === 'string';
  });
}

/** Replies with the tool call until the request carries that call's output, then with text. */
export function toolThenText(call: ToolCallReply, text: string): (request: RecordedRequest) => OpenAiReply {
  const callId = ('functionCall' in call ? call.functionCall.callId : call.customToolCall.callId) ?? STAND_IN_CALL_ID;
  return (request) => (toolCallOutputs(request.body).some((output) => output.call_id === callId) ? { text } : call);
}

/**
 * Points Codex at a stand-in: a provider entry in `codexHome`/config.toml, as
 * codex documents for OpenAI-compatible providers (0.171 ignores
 * OPENAI_BASE_URL), its key read from `keyVariable`. Retries are off so a
 * failing provider fails the run at once, not after minutes of backoff.
 */
export function writeCodexConfig(codexHome: string, standIn: { url: string }, keyVariable = 'STAND_IN_OPENAI_KEY'): void {
  fs.writeFileSync(
    path.join(codexHome, 'config.toml'),
    [
      'model_provider = "stand-in"',
      '',
      '[model_providers.stand-in]',
      'name = "OpenAI stand-in"',
      `base_url = "${standIn.url}/v1"`,
      `env_key = "${keyVariable}"`,
      'wire_api = "responses"',
      'request_max_retries = 0',
      'stream_max_retries = 0',
      '',
    ].join('\n'),
  );
}
