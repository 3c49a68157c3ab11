import { readFileSync } from 'node:fs';

/**
 * Every shell example of a whole Markdown guide, in the order a reader meets them, with the ones
 * the guide says are not meant to be run: a block right after `<!-- not run: reason -->` (output
 * is fenced as ```text and never counts as an example).
 */
export interface GuideExample {
  /** The heading the block is under (the nearest one above it). */
  heading: string;
  /** The block's lines, as written. */
  block: string;
  /** Set when the guide marks the block as not to be run: the reason it gives. */
  notRun?: string;
}

export function guideExamples(markdownFile: string): GuideExample[] {
  const examples: GuideExample[] = [];
  let heading = '';
  let notRun: string | undefined;
  let current: string[] | undefined;
  let fence: 'shell' | 'other' | undefined;
  for (const line of readFileSync(markdownFile, 'utf8').split('\n')) {
    if (fence !== undefined) {
      if (line.startsWith('```')) {
        if (fence === 'shell') examples.push({ heading, block: current!.join('\n'), ...(notRun !== undefined && { notRun }) });
        fence = undefined;
        notRun = undefined;
      } else current?.push(line);
      continue;
    }
    const marker = /^<!--\s*not run:\s*(.*?)\s*-->\s*$/.exec(line);
    if (marker) notRun = marker[1]!;
    else if (line.startsWith('```')) {
      fence = /^```(sh|bash|shell)\s*$/.test(line) ? 'shell' : 'other';
      current = [];
    } else {
      const title = /^#+ (.*)$/.exec(line);
      if (title) heading = title[1]!.trim();
      // The marker belongs to the very next block: anything else in between cancels it.
      if (line.trim() !== '') notRun = undefined;
    }
  }
  return examples;
}

/** The command on the ports a test gave the platform and the simulators, for the documented defaults (`{ 8080: …, 8091: … }`). */
export function onPorts(command: string, ports: Record<number, number>): string {
  return command.replace(/\b(localhost|127\.0\.0\.1):(\d+)\b/g, (all, host: string, port: string) => {
    const given = ports[Number(port)];
    return given === undefined ? all : `${host}:${given}`;
  });
}
