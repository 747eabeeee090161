import type { LogLine, LogStream } from './log-store.js';

/**
 * A stored line as one JSON object — `{seq, stream, text, ts, event?, events?}`
 * (`event` the line's normalized event, or the first of several, which are
 * then all in `events`)
 * — which is also, byte for byte, the `data` of its `log` server-sent event.
 * It is serialised once, when the line arrives, and then only copied: into the
 * stored chunk, into every live stream, into every replay.
 *
 * It is put together from its parts rather than by stringifying a built
 * object: only the text and each event need stringifying, and the first
 * event's JSON serves for both `event` and `events`. The result is what
 * JSON.stringify writes for the same object.
 */
export function logRecord(seq: number, stream: LogStream, text: string, ts: string, event: unknown): string {
  let events = '';
  if (Array.isArray(event) && event.length > 1) {
    let first: string | undefined;
    let list = '';
    for (let index = 0; index < event.length; index += 1) {
      const json = JSON.stringify(event[index]) as string | undefined;
      if (index === 0) first = json;
      // As JSON.stringify writes a list: an element with no JSON form is null.
      list += `${index === 0 ? '' : ','}${json ?? 'null'}`;
    }
    events = `${first === undefined ? '' : `,"event":${first}`},"events":[${list}]`;
  } else if (Array.isArray(event)) {
    // One event (the usual case) is sent once, as `event`: a list of one would repeat it.
    const json = event.length === 1 ? (JSON.stringify(event[0]) as string | undefined) : undefined;
    if (json !== undefined) events = `,"event":${json}`;
  } else if (event !== undefined) {
    const json = JSON.stringify(event) as string | undefined;
    if (json !== undefined) events = `,"event":${json}`;
  }
  return `{"seq":${seq},"stream":"${stream}","text":${JSON.stringify(text)},"ts":"${ts}"${events}}`;
}

interface StoredRecord {
  seq: number;
  stream: LogStream;
  text: string;
  ts: string;
  event?: unknown;
  events?: unknown[];
}

/** A record read back, its events as the list they were appended as. */
export function parseLogRecord(executionId: string, json: string): LogLine {
  const record = JSON.parse(json) as StoredRecord;
  const event = record.events ?? (record.event === undefined ? undefined : [record.event]);
  return { executionId, seq: record.seq, stream: record.stream, text: record.text, ts: record.ts, ...(event === undefined ? {} : { event }), json };
}
