/**
 * Progress for long steps: a bar redrawn in place on a terminal, plain lines (at most one
 * every few seconds) when the output goes to a file or a CI log.
 */
const WIDTH = 28;
const TTY_REDRAW_MS = 100;
const PLAIN_LINE_MS = 5_000;

export class ProgressBar {
  private lastDraw = 0;
  private lastLine = '';
  private readonly tty: boolean;

  constructor(
    private readonly label: string,
    private readonly out: NodeJS.WriteStream = process.stdout,
  ) {
    this.tty = out.isTTY === true;
  }

  /** `fraction` in [0, 1], or `undefined` when the end is not known (a waiting spinner). */
  update(fraction: number | undefined, note = ''): void {
    const now = Date.now();
    if (now - this.lastDraw < (this.tty ? TTY_REDRAW_MS : PLAIN_LINE_MS)) return;
    this.lastDraw = now;
    this.draw(fraction, note);
  }

  /** Draws the final state and ends the line. */
  finish(note = ''): void {
    this.draw(1, note);
    if (this.tty) this.out.write('\n');
  }

  /** Ends the line without claiming completion (a failed step). */
  abort(note = ''): void {
    if (this.tty) this.out.write(`\r\x1b[2K  ${this.label} ${note}\n`);
    else this.out.write(`  ${this.label} ${note}\n`);
  }

  private draw(fraction: number | undefined, note: string): void {
    if (!this.tty) {
      const line = `  ${this.label}${fraction === undefined ? '' : ` ${Math.floor(fraction * 100)}%`} ${note}`.trimEnd();
      if (line !== this.lastLine) this.out.write(`${line}\n`);
      this.lastLine = line;
      return;
    }
    let bar: string;
    if (fraction === undefined) {
      const pos = Math.floor(Date.now() / 120) % WIDTH;
      bar = ' '.repeat(pos) + '\x1b[36m=\x1b[0m' + ' '.repeat(WIDTH - pos - 1);
    } else {
      const filled = Math.round(Math.max(0, Math.min(1, fraction)) * WIDTH);
      bar = `\x1b[32m${'█'.repeat(filled)}\x1b[0m${'░'.repeat(WIDTH - filled)}`;
    }
    const percent = fraction === undefined ? '    ' : `${String(Math.floor(fraction * 100)).padStart(3)}%`;
    this.out.write(`\r\x1b[2K  ${this.label} [${bar}] ${percent} ${note}`);
  }
}
