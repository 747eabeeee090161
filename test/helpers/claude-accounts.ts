import type { Engine } from './engine.js';
import type { RecordedRequest } from './stand-ins/server.js';

/** Two Anthropic API keys, for tests of claude accounts that take turns (one account each). */
export const FIRST_KEY = 'sk-ant-first-account-0123456789';
export const SECOND_KEY = 'sk-ant-second-account-0123456789';

/** The API key a request to the Anthropic stand-in came with. */
export const keyOf = (recorded: RecordedRequest) => String(recorded.headers['x-api-key'] ?? '');

/** The Messages API calls the engine's stand-in has received. */
export const messagesOf = (engine: Engine) => engine.standIn.requests.filter((recorded) => recorded.path.startsWith('/v1/messages'));
