/**
 * The commands inside a checklist hint, so each gets its own copy button.
 * Hints are sentences from the server (`install it: npm install -g …`,
 * "run `codex login`, or set OPENAI_API_KEY"): commands are the text after
 * "install it:" and anything in backticks.
 */
export function fixCommands(hint: string): { sentence: string; commands: string[] } {
  const commands: string[] = [];
  const install = /(?:re)?install it: (npm install -g \S+)/.exec(hint);
  if (install) commands.push(install[1]!);
  for (const match of hint.matchAll(/`([^`]+)`/g)) {
    const command = match[1]!;
    // "`/usr/bin/claude --version` failed" names what failed; it is not a fix.
    if (!/--version$/.test(command) && !commands.includes(command)) commands.push(command);
  }
  return { sentence: hint.replace(/`/g, ''), commands };
}
