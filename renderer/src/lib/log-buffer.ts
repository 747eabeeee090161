import type { AgentEvent } from '../../../common/executions.js';
import type { LogStream } from '../../../common/streams.js';

/** One line of an execution's output, as kept in the page. */
export interface LogLine {
  seq: number;
  stream: LogStream;
  text: string;
  ts: string;
  events: AgentEvent[] | null;
}

export type RowKind = 'assistant' | 'user' | 'system' | 'tool_call' | 'tool_result' | 'tool_error' | 'usage' | 'error' | 'result_ok' | 'result_failed' | 'stderr' | 'raw' | 'more';

/**
 * One row of the normalized view. Every row is one line high, so the view
 * can be windowed by arithmetic alone: a message of five lines is five rows
 * (the first carries the label), a long tool result is cut to a few rows and
 * a `more` row that opens the whole of it.
 */
export interface EventRow {
  seq: number;
  kind: RowKind;
  /** Shown in the label column on the first row of an event, empty on its continuation rows. */
  label: string;
  text: string;
  /** Which event of the line (a line can carry several). */
  eventIndex: number;
}

/** Rows shown per message or tool result before the rest is folded into a `more` row. */
export const MAX_ROWS_PER_EVENT = 40;
export const TOOL_RESULT_ROWS = 6;

function compact(value: unknown): string {
  if (value === undefined) return '';
  try {
    const text = JSON.stringify(value);
    return text.length > 400 ? `${text.slice(0, 400)}…` : text;
  } catch {
    return String(value);
  }
}

function pushText(rows: EventRow[], seq: number, eventIndex: number, kind: RowKind, label: string, text: string, limit: number): void {
  const parts = text.split('\n');
  const shown = parts.length > limit + 1 ? limit : parts.length;
  for (let index = 0; index < shown; index++) rows.push({ seq, kind, label: index === 0 ? label : '', text: parts[index]!, eventIndex });
  if (shown < parts.length) rows.push({ seq, kind: 'more', label: '', text: `… ${parts.length - shown} more lines — open the line to read all of it`, eventIndex });
}

function money(value: number): string {
  return value < 0.01 ? `$${value.toFixed(4)}` : `$${value.toFixed(2)}`;
}

/** The normalized rows of one line (none for a CLI's bookkeeping lines that carry no event). */
export function rowsOf(line: LogLine): EventRow[] {
  const rows: EventRow[] = [];
  if (!line.events || line.events.length === 0) {
    if (line.stream === 'stderr') pushText(rows, line.seq, 0, 'stderr', 'stderr', line.text, MAX_ROWS_PER_EVENT);
    else if (line.stream === 'system') pushText(rows, line.seq, 0, 'system', 'agented', line.text, MAX_ROWS_PER_EVENT);
    // A stdout line that is a JSON object and no event is the CLI's own bookkeeping (init, hooks): the raw view has it.
    else if (!line.text.trimStart().startsWith('{')) pushText(rows, line.seq, 0, 'raw', 'output', line.text, MAX_ROWS_PER_EVENT);
    return rows;
  }
  line.events.forEach((event, index) => {
    switch (event.type) {
      case 'message':
        pushText(rows, line.seq, index, event.role, event.role, event.text === '' ? '(empty message)' : event.text, MAX_ROWS_PER_EVENT);
        return;
      case 'tool_call':
        rows.push({ seq: line.seq, kind: 'tool_call', label: 'tool call', text: `${event.name} ${compact(event.input)}`, eventIndex: index });
        return;
      case 'tool_result':
        pushText(rows, line.seq, index, event.isError ? 'tool_error' : 'tool_result', event.isError ? 'tool error' : 'tool result', event.output === '' ? '(no output)' : event.output, TOOL_RESULT_ROWS);
        return;
      case 'usage': {
        const parts = [event.inputTokens !== null ? `${event.inputTokens.toLocaleString('en')} in` : null, event.outputTokens !== null ? `${event.outputTokens.toLocaleString('en')} out` : null, event.costUsd !== null ? money(event.costUsd) : null].filter(Boolean);
        // A provisional usage is the run's running total (replaced by the CLI's own totals at the end).
        rows.push({ seq: line.seq, kind: 'usage', label: event.provisional ? 'usage so far' : 'usage', text: parts.length > 0 ? parts.join(' · ') : 'reported', eventIndex: index });
        return;
      }
      case 'error':
        rows.push({ seq: line.seq, kind: 'error', label: `error (${event.kind})`, text: `${event.message}${event.retryAt ? ` — retry after ${event.retryAt}` : ''}`, eventIndex: index });
        return;
      case 'result':
        pushText(rows, line.seq, index, event.ok ? 'result_ok' : 'result_failed', event.ok ? 'result' : 'failed', event.text ?? (event.ok ? 'finished' : 'the agent reported a failure'), MAX_ROWS_PER_EVENT);
        return;
      default:
        return event satisfies never;
    }
  });
  return rows;
}

/**
 * Everything received of one execution's output, in sequence order, plus its
 * normalized rows. Plain arrays, not reactive state: 100,000 lines must not
 * become 100,000 proxies. Views subscribe and redraw once per frame.
 */
export class LogBuffer {
  readonly lines: LogLine[] = [];
  readonly rows: EventRow[] = [];
  private readonly listeners = new Set<() => void>();

  get lastSeq(): number {
    return this.lines.at(-1)?.seq ?? 0;
  }

  /**
   * Adds a line if it is the next one. Answers what happened: `added`,
   * `duplicate` (already here: a resumed stream repeated it) or `gap` (lines
   * are missing before it: the caller resumes from `lastSeq`). `rows` are
   * the line's normalized rows when they were built already (by the worker).
   */
  append(line: LogLine, rows: readonly EventRow[] = rowsOf(line)): 'added' | 'duplicate' | 'gap' {
    const last = this.lastSeq;
    if (line.seq <= last) return 'duplicate';
    if (last !== 0 && line.seq !== last + 1) return 'gap';
    this.lines.push(line);
    for (const row of rows) this.rows.push(row);
    for (const listener of this.listeners) listener();
    return 'added';
  }

  /** The line with this sequence number (lines are gapless, so this is arithmetic). */
  line(seq: number): LogLine | undefined {
    const first = this.lines[0]?.seq ?? 1;
    const candidate = this.lines[seq - first];
    return candidate?.seq === seq ? candidate : this.lines.find((line) => line.seq === seq);
  }

  clear(): void {
    this.lines.length = 0;
    this.rows.length = 0;
    for (const listener of this.listeners) listener();
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
