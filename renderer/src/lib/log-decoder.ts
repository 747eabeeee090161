import type { AgentEvent } from '../../../common/executions.js';
import { StreamLog, type LogStream } from '../../../common/streams.js';
import { rowsOf, type EventRow, type LogLine } from './log-buffer.js';

const LogFields = StreamLog.pick({ seq: true, stream: true, text: true, ts: true });

/** A `log` event's data, parsed by the contract, with its normalized rows. */
export interface DecodedLog {
  line: LogLine;
  rows: EventRow[];
  /** The data broke the contract somewhere (an unknown event: kept as a raw line without events). */
  malformed: boolean;
}

/**
 * Parses the data of one `log` event (StreamLog in common/streams.ts) and
 * builds its rows. Null when it is not even a line. Runs where the stream is
 * read: in the execution stream's worker, or on the page without one.
 */
export function decodeLog(data: string): DecodedLog | null {
  let raw: unknown;
  try {
    raw = JSON.parse(data);
  } catch {
    return null;
  }
  const parsed = StreamLog.safeParse(raw);
  if (parsed.success) {
    // A line's one event comes as `event`; several come as `events` (the first repeated as `event`).
    const { seq, stream, text, ts, event, events } = parsed.data;
    const line: LogLine = { seq, stream, text, ts, events: events ?? (event === undefined ? null : [event]) };
    return { line, rows: rowsOf(line), malformed: false };
  }
  // An event the contract does not know (a newer server): keep the line, drop its events.
  const fallback = LogFields.safeParse(raw);
  if (!fallback.success) return null;
  const line: LogLine = { ...fallback.data, events: null };
  return { line, rows: rowsOf(line), malformed: true };
}

/**
 * A line decoded elsewhere (the stream's worker). Its events stay JSON text
 * until the line is opened (the rows were built from them already): one
 * string instead of a tree of objects per line, and no parsing on the page
 * for lines nobody opens. The worker validated them against the contract.
 */
export class DeferredLogLine implements LogLine {
  private parsed: AgentEvent[] | null | undefined;

  constructor(
    readonly seq: number,
    readonly stream: LogStream,
    readonly text: string,
    readonly ts: string,
    private readonly eventsJson: string | null,
  ) {}

  get events(): AgentEvent[] | null {
    if (this.parsed === undefined) this.parsed = this.eventsJson === null ? null : (JSON.parse(this.eventsJson) as AgentEvent[]);
    return this.parsed;
  }
}
