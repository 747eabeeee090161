/** How budget and usage periods read: whole days in the server's time zone, shown as dates rather than midnights. */

const day = (date: Date) => date.toLocaleDateString(undefined, { weekday: 'short', month: 'short', day: 'numeric' });

const isMidnight = (date: Date) => date.getHours() === 0 && date.getMinutes() === 0 && date.getSeconds() === 0;

/** `Thu, Nov 26` for a day, `Mon, Nov 23 – Sun, Nov 29` for a week; the end is exclusive, so its last day is shown. */
export function formatPeriod(startIso: string, endIso: string): string {
  const start = new Date(startIso);
  const last = new Date(Date.parse(endIso) - 1);
  return start.toDateString() === last.toDateString() ? day(start) : `${day(start)} – ${day(last)}`;
}

/** When a period ends: the date alone at midnight, otherwise date and time. */
export function formatBoundary(iso: string): string {
  const date = new Date(iso);
  return isMidnight(date) ? day(date) : `${day(date)} ${date.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' })}`;
}

/** `1 execution`, `2 executions`. */
export function counted(count: number, word: string): string {
  return `${count.toLocaleString('en')} ${word}${count === 1 ? '' : 's'}`;
}
