/**
 * The CLI's output layer: every line a command prints goes through here, so no control character a
 * provider put in an id, a number or a reason ever reaches the terminal raw (see core/terminal-text.ts).
 * JSON stays JSON: the escapes are JSON's own.
 */
import { terminalSafe } from '#core/terminal-text.ts';

/** Where a command prints its result, a line at a time. */
export type Out = (line: string) => void;

/** A line on stdout, control characters escaped. */
export const print: Out = (line) => void process.stdout.write(`${terminalSafe(line)}\n`);

/** A line on stderr (messages, progress), control characters escaped. */
export const printError: Out = (line) => void process.stderr.write(`${terminalSafe(line)}\n`);

/** `value` as indented JSON: what every `--json` prints. */
export function jsonText(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

/** Where progress goes: stderr, or what a test passes. */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

/**
 * A status line for work that takes more than a second, on stderr and only on a terminal (redrawn in
 * place, cleared when done): a pipe or a log file gets the result alone.
 */
export class Progress {
  private shown = false;
  private readonly stream: ProgressStream;
  constructor(stream: ProgressStream = process.stderr) {
    this.stream = stream;
  }

  /** Replace the status line with `text`. */
  update(text: string): void {
    if (!this.stream.isTTY) return;
    this.shown = true;
    this.stream.write(`\r\u001b[2K${terminalSafe(text).slice(0, 200)}`);
  }

  /** Clear the status line. */
  done(): void {
    if (!this.shown) return;
    this.shown = false;
    this.stream.write('\r\u001b[2K');
  }
}
