/**
 * ANSI SGR colours of a CLI's output line, as spans a strict CSP allows: the
 * 16 standard colours, bold, dim, italic, underline and inverse as classes
 * (styled in the stylesheet, so they follow the light and dark themes), and
 * 256-colour and true-colour values as style objects that Vue applies through
 * the CSSOM (not as style attributes, which `style-src 'self'` refuses).
 * Every other escape sequence (cursor moves, OSC titles and links) is removed.
 * https://en.wikipedia.org/wiki/ANSI_escape_code#SGR
 */

export interface AnsiSpan {
  text: string;
  /** Space-separated class names, '' when plain. */
  classes: string;
  color: string | null;
  background: string | null;
}

interface Sgr {
  fg: number | string | null;
  bg: number | string | null;
  bold: boolean;
  dim: boolean;
  italic: boolean;
  underline: boolean;
  inverse: boolean;
}

const plain = (): Sgr => ({ fg: null, bg: null, bold: false, dim: false, italic: false, underline: false, inverse: false });

// CSI … final byte, OSC … BEL or ST, and lone two-byte escapes.
// eslint-disable-next-line no-control-regex
const ESCAPE = /\x1b\[([0-9;:?]*)([@-~])|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]/g;
// eslint-disable-next-line no-control-regex
const HAS_ESCAPE = /\x1b/;

/** xterm's 256-colour palette entry as CSS (16–231 the colour cube, 232–255 greys). */
function palette(index: number): string | number {
  if (index < 16) return index;
  if (index < 232) {
    const value = index - 16;
    const level = (n: number) => (n === 0 ? 0 : 55 + n * 40);
    return `rgb(${level(Math.floor(value / 36))}, ${level(Math.floor(value / 6) % 6)}, ${level(value % 6)})`;
  }
  const grey = 8 + (index - 232) * 10;
  return `rgb(${grey}, ${grey}, ${grey})`;
}

function extendedColour(codes: number[], at: number): { colour: string | number | null; used: number } {
  if (codes[at + 1] === 5 && codes[at + 2] !== undefined) return { colour: palette(codes[at + 2]! & 255), used: 2 };
  if (codes[at + 1] === 2 && codes[at + 4] !== undefined) return { colour: `rgb(${codes[at + 2]! & 255}, ${codes[at + 3]! & 255}, ${codes[at + 4]! & 255})`, used: 4 };
  return { colour: null, used: 0 };
}

function apply(state: Sgr, parameters: string): void {
  const codes = parameters === '' ? [0] : parameters.split(/[;:]/).map((part) => (part === '' ? 0 : Number(part)));
  for (let index = 0; index < codes.length; index++) {
    const code = codes[index]!;
    if (code === 0) Object.assign(state, plain());
    else if (code === 1) state.bold = true;
    else if (code === 2) state.dim = true;
    else if (code === 3) state.italic = true;
    else if (code === 4) state.underline = true;
    else if (code === 7) state.inverse = true;
    else if (code === 22) state.bold = state.dim = false;
    else if (code === 23) state.italic = false;
    else if (code === 24) state.underline = false;
    else if (code === 27) state.inverse = false;
    else if (code >= 30 && code <= 37) state.fg = code - 30;
    else if (code >= 90 && code <= 97) state.fg = code - 90 + 8;
    else if (code === 39) state.fg = null;
    else if (code >= 40 && code <= 47) state.bg = code - 40;
    else if (code >= 100 && code <= 107) state.bg = code - 100 + 8;
    else if (code === 49) state.bg = null;
    else if (code === 38 || code === 48) {
      const { colour, used } = extendedColour(codes, index);
      if (code === 38) state.fg = colour;
      else state.bg = colour;
      index += used;
    }
  }
}

function span(text: string, state: Sgr): AnsiSpan {
  const classes: string[] = [];
  let color: string | null = null;
  let background: string | null = null;
  const fg = state.inverse ? state.bg : state.fg;
  const bg = state.inverse ? state.fg : state.bg;
  if (typeof fg === 'number') classes.push(`ansi-fg-${fg}`);
  else if (typeof fg === 'string') color = fg;
  if (typeof bg === 'number') classes.push(`ansi-bg-${bg}`);
  else if (typeof bg === 'string') background = bg;
  if (state.inverse && fg === null) classes.push('ansi-inverse');
  if (state.bold) classes.push('ansi-bold');
  if (state.dim) classes.push('ansi-dim');
  if (state.italic) classes.push('ansi-italic');
  if (state.underline) classes.push('ansi-underline');
  return { text, classes: classes.join(' '), color, background };
}

/** The spans of one line. A line without escapes is one plain span (the common case, and cheap). */
export function parseAnsi(line: string): AnsiSpan[] {
  if (!HAS_ESCAPE.test(line)) return [{ text: line, classes: '', color: null, background: null }];
  const spans: AnsiSpan[] = [];
  const state = plain();
  let last = 0;
  ESCAPE.lastIndex = 0;
  for (let match = ESCAPE.exec(line); match !== null; match = ESCAPE.exec(line)) {
    if (match.index > last) spans.push(span(line.slice(last, match.index), state));
    if (match[2] === 'm') apply(state, match[1] ?? '');
    last = match.index + match[0].length;
  }
  if (last < line.length) spans.push(span(line.slice(last), state));
  return spans.length > 0 ? spans : [{ text: '', classes: '', color: null, background: null }];
}

/** The text without any escape sequence (for copying and searching). */
export function stripAnsi(line: string): string {
  return HAS_ESCAPE.test(line) ? line.replace(ESCAPE, '') : line;
}
