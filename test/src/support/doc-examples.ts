import { mkdtempSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, type RunResult } from './processes.js';

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

/** A ```sh block of a guide: where it is, its commands, and why it is not run when the guide says so. */
export interface ShellExample {
  heading: string;
  /** 1-based line of the opening fence, for messages. */
  line: number;
  commands: string[];
  /** From `<!-- not run: reason -->` on the last non-empty line before the fence. */
  notRun?: string;
}

/**
 * Every ```sh block of the guide in order, each with the heading it is under. Shown output is in
 * ```text (or unlabelled) blocks and is never a shell example; a shell example a test must not
 * run says why in a comment readers of the rendered page do not see.
 */
export function shellExamples(markdownFile: string): ShellExample[] {
  const lines = readFileSync(markdownFile, 'utf8').split('\n');
  const examples: ShellExample[] = [];
  let heading = '';
  let current: { line: number; body: string[]; notRun?: string } | undefined;
  lines.forEach((text, i) => {
    if (current === undefined) {
      if (/^#+ /.test(text)) heading = text.replace(/^#+ /, '').trim();
      else if (/^```(sh|bash|shell)\s*$/.test(text)) {
        const before = lines.slice(0, i).reverse().find((l) => l.trim() !== '') ?? '';
        const notRun = /^<!--\s*not run:\s*(.*?)\s*-->$/.exec(before.trim())?.[1];
        current = { line: i + 1, body: [], ...(notRun !== undefined ? { notRun } : {}) };
      }
    } else if (text.startsWith('```')) {
      examples.push({ heading, line: current.line, commands: commandsOf(current.body.join('\n')), ...(current.notRun !== undefined ? { notRun: current.notRun } : {}) });
      current = undefined;
    } else current.body.push(text);
  });
  return examples;
}

/**
 * A placeholder a reader would have to fill by hand (`<id>`, `<uin>`): a guide's example names
 * what it needs with a shell variable an earlier example sets from the platform instead, so it
 * runs as written. Redirections (`< file`) are not placeholders.
 */
export function handPlaceholder(command: string): string | undefined {
  return /<[A-Za-z][\w.-]*>/.exec(command)?.[0];
}

const MARK = '\x1e';

/**
 * Runs the commands one after the other in one bash, as a reader types them into one terminal
 * (a variable an example sets is there for the next), and gives each command's exit code and
 * its own stdout and stderr. A pipeline's status is its last command's, as in that terminal.
 * When the shell itself stops (an `exit`, the timeout), the command it stopped in gets its exit
 * code and the output that followed, and the later ones get nothing.
 */
export async function runInOneShell(commands: readonly string[], options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number }): Promise<RunResult[]> {
  const script = commands.map((command, i) => `${command}\nprintf '\\n${MARK}%s %s\\n' ${i} "$?"; printf '\\n${MARK}%s\\n' ${i} >&2`).join('\n');
  const r = await run('bash', ['-c', script], { cwd: options.cwd, env: options.env, timeoutMs: options.timeoutMs });
  // Each command's output ends at its marker; what follows the last marker is the output of the
  // command the shell stopped in, if it stopped early.
  const split = (text: string): { parts: Array<{ text: string; code?: number }>; rest: string } => {
    const pieces = text.split(`\n${MARK}`);
    const parts: Array<{ text: string; code?: number }> = [];
    let pending = pieces[0]!;
    for (const piece of pieces.slice(1)) {
      const [head, ...rest] = piece.split('\n');
      const code = head!.split(' ')[1];
      parts.push({ text: pending, ...(code !== undefined ? { code: Number(code) } : {}) });
      pending = rest.join('\n');
    }
    return { parts, rest: pending };
  };
  const stdout = split(r.stdout);
  const stderr = split(r.stderr);
  const results = stdout.parts.map((o, i) => ({ code: o.code!, stdout: o.text, stderr: stderr.parts[i]?.text ?? '' }));
  if (results.length < commands.length) results.push({ code: r.code === 0 ? 1 : r.code, stdout: stdout.rest, stderr: stderr.rest });
  return results;
}

/**
 * The project as a newcomer's checkout: every entry of the repository except its data directory,
 * so `./data` (the embedded default) is the caller's own. Symlinks: the build and the installed
 * dependencies are the ones already here.
 */
export function readerCheckout(repo: string, label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `registo-${label}-`));
  for (const entry of readdirSync(repo)) if (entry !== 'data' && !entry.startsWith('.registo')) symlinkSync(join(repo, entry), join(dir, entry));
  return dir;
}

/** The environment a reader's shell has: none of the platform's settings (they would change what the examples do) but the port variables. */
export function readerEnv(inherited: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env = { ...inherited };
  for (const name of Object.keys(env)) if (/^(REGISTO_|DATABASE_URL|KAFKA_BROKERS|HOST$|PORT$)/.test(name)) delete env[name];
  return env;
}
