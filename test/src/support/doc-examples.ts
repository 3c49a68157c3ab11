import { readFileSync } from 'node:fs';

/**
 * The shell examples of a Markdown guide, read from the file itself so a test that runs them
 * cannot drift from what a reader copies.
 */

/** The ```sh blocks between `heading` (matched exactly, any level) and the next heading of that level or higher. */
export function shellBlocks(markdownFile: string, heading: string): string[] {
  const lines = readFileSync(markdownFile, 'utf8').split('\n');
  const at = lines.findIndex((l) => /^#+ /.test(l) && l.replace(/^#+ /, '').trim() === heading);
  if (at < 0) throw new Error(`${markdownFile} has no heading "${heading}"`);
  const level = /^#+/.exec(lines[at]!)![0].length;
  const blocks: string[] = [];
  let current: string[] | undefined;
  for (const line of lines.slice(at + 1)) {
    if (current === undefined) {
      const heading = /^(#+) /.exec(line);
      if (heading && heading[1]!.length <= level) break;
      if (/^```(sh|bash|shell)\s*$/.test(line)) current = [];
    } else if (line.startsWith('```')) {
      blocks.push(current.join('\n'));
      current = undefined;
    } else current.push(line);
  }
  return blocks;
}

/**
 * One command per entry: continuation lines joined, a trailing comment (two spaces or more, then
 * `#`) cut off, empty lines dropped.
 */
export function commandsOf(block: string): string[] {
  const joined = block.replace(/\\\n\s*/g, '');
  return joined
    .split('\n')
    .map((line) => line.replace(/\s{2,}#.*$/, '').replace(/^\s*#.*$/, '').trim())
    .filter((line) => line.length > 0);
}

/** The command as a reader on another port types it: the documented default port 8080 replaced. */
export function onPort(command: string, port: number): string {
  return command.replace(/\b(localhost|127\.0\.0\.1):8080\b/g, `$1:${port}`);
}
