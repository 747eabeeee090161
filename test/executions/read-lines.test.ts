import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { readLines } from '../../main/executions/agent-process.js';

/** The lines readLines hands on for what a real process writes: each chunk written on its own, a pause between them so each is read on its own. */
async function linesOf(chunks: string[], maxLineBytes: number): Promise<string[]> {
  const script = `const chunks = ${JSON.stringify(chunks.map((chunk) => Buffer.from(chunk).toString('base64')))};
let next = 0;
const write = () => { if (next === chunks.length) return; process.stdout.write(Buffer.from(chunks[next++], 'base64'), () => setTimeout(write, 150)); };
write();`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  await readLines(child.stdout, (line) => lines.push(line), maxLineBytes);
  return lines;
}

describe('reading a CLI’s output line by line', () => {
  it('a line longer than the limit is handed on in pieces that never split an emoji', async () => {
    // A whole line is handed on whole, however long: only a partial line waits in pieces.
    expect(await linesOf(['ab😀cd', '\nab😀', 'cd😀'], 3)).toEqual(['ab', '😀c', 'd', 'ab', '😀c', 'd😀']);
  });

  it('a \\r\\n split right after a piece of the limit’s length ends that line, with no empty line after it', async () => {
    expect(await linesOf(['abc\r', '\nnext\r\n'], 3)).toEqual(['abc', 'next']);
    expect(await linesOf(['abcdef\r', '\n'], 3)).toEqual(['abc', 'def']);
  });

  it('lines under the limit, with \\n or \\r\\n, split across writes anywhere, come whole', async () => {
    expect(await linesOf(['x\r', '\ny\r\n', 'z\n', 'par', 'tial'], 100)).toEqual(['x', 'y', 'z', 'partial']);
  });
});
