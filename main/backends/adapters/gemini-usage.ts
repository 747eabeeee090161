import path from 'node:path';
import type { RunningTokens, UsageFileSource } from '../../executions/usage-file.js';

/**
 * Gemini CLI prints its usage only in the final `result` line of stream-json
 * (0.61.0 has no per-turn stats event), but its OpenTelemetry logs carry one
 * `gemini_cli.api_response` record per API call with that call's
 * `input_token_count` and `output_token_count` (packages/core/src/telemetry/
 * types.ts, ApiResponseEvent; the final stats are the sum of the same events).
 * With an outfile the CLI writes them to that file, each record as indented
 * JSON followed by a newline (telemetry/file-exporters.ts), batched: a record
 * reaches the file at most 5 s after its call (the SDK's
 * BatchLogRecordProcessor default), and the rest at exit.
 *
 * What keeps the file free of prompts and content:
 * - `GEMINI_TELEMETRY_LOG_PROMPTS=false`: no prompt, response text or tool
 *   arguments in the records (only lengths);
 * - `OTEL_NODE_RESOURCE_DETECTORS=none`: the process detector would put the
 *   command line — the prompt is an argument — on every record;
 * - `OTEL_TRACES_SAMPLER=always_off`: spans carry the whole system prompt and
 *   tool declarations whatever the prompt setting;
 * - `OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT=64`: any other text attribute (the
 *   request details repeat the system prompt's opening) is cut to 64
 *   characters; the counts read here are numbers.
 * `GEMINI_TELEMETRY_TARGET=local` because a user's `gcp` target would win over
 * the outfile. The file lives in the attempt's private folder, removed after it.
 */
const API_RESPONSE = 'gemini_cli.api_response';

function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : 0;
}

/** A call's tokens from one telemetry record, or null for any other record. */
export function apiResponseTokens(record: string): RunningTokens | null {
  // Most records are metrics and other events: only the rare API response is parsed.
  if (!record.includes(API_RESPONSE)) return null;
  let json: unknown;
  try {
    json = JSON.parse(record);
  } catch {
    return null;
  }
  const attributes = typeof json === 'object' && json !== null ? (json as { attributes?: unknown }).attributes : undefined;
  if (typeof attributes !== 'object' || attributes === null) return null;
  const fields = attributes as Record<string, unknown>;
  if (fields['event.name'] !== API_RESPONSE) return null;
  // The output count is the answer alone: the thinking, billed as output too, is counted apart.
  return { inputTokens: count(fields.input_token_count), outputTokens: count(fields.output_token_count) + count(fields.thoughts_token_count) };
}

export const geminiUsageFile: UsageFileSource = {
  attempt: ({ dir }) => {
    const file = path.join(dir, 'telemetry.json');
    let total: RunningTokens = { inputTokens: 0, outputTokens: 0 };
    return {
      env: {
        GEMINI_TELEMETRY_ENABLED: 'true',
        GEMINI_TELEMETRY_TARGET: 'local',
        GEMINI_TELEMETRY_OUTFILE: file,
        GEMINI_TELEMETRY_LOG_PROMPTS: 'false',
        GEMINI_TELEMETRY_TRACES_ENABLED: 'false',
        OTEL_TRACES_SAMPLER: 'always_off',
        OTEL_NODE_RESOURCE_DETECTORS: 'none',
        OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: '64',
      },
      file: () => file,
      // A record ends with its closing brace alone on a line: nested ones are indented.
      recordEnd: '\n}\n',
      maxRecordBytes: 256 * 1024,
      usageOf: (record) => {
        const call = apiResponseTokens(record);
        if (!call) return null;
        total = { inputTokens: total.inputTokens + call.inputTokens, outputTokens: total.outputTokens + call.outputTokens };
        return total;
      },
    };
  },
};
