/** Terminal niceties: color only on a TTY (and never with -o), a progress line on stderr for slow work. */
import type { Progress as Steps } from "./prepare.ts";

const codes = {
  bold: [1, 22],
  dim: [2, 22],
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
  cyan: [36, 39],
};

/** Styling functions; identity when color is off. */
export type Paint = Record<keyof typeof codes, (s: string) => string>;

/** Color on when the stream is a TTY, NO_COLOR is unset and the output is the text report. */
export function paintFor(stream: NodeJS.WriteStream, textOutput: boolean): Paint {
  const on =
    textOutput && stream.isTTY === true && process.env.NO_COLOR === undefined && process.env.TERM !== "dumb";
  const paint = {} as Paint;
  for (const [name, [open, close]] of Object.entries(codes) as [keyof typeof codes, number[]][])
    paint[name] = on ? (s) => `\u001b[${open}m${s}\u001b[${close}m` : (s) => s;
  return paint;
}

/** A progress indicator: `step(label)` names the current phase; shown on a TTY stderr once work takes over ~1 s. */
export interface Progress extends Steps {
  done(): void;
}

const frames = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/** A spinner on `stream` when it is a TTY; a no-op otherwise. */
export function progress(stream: NodeJS.WriteStream = process.stderr, delayMs = 1000): Progress {
  if (stream.isTTY !== true) return { step() {}, yield: async () => {}, done() {} };
  const start = Date.now();
  let label = "";
  let frame = 0;
  let shown = false;
  const draw = () => {
    if (Date.now() - start < delayMs || label === "") return;
    shown = true;
    stream.write(`\r\u001b[2K${frames[frame++ % frames.length]} ${label}…`);
  };
  const timer = setInterval(draw, 100);
  timer.unref();
  return {
    step(next) {
      label = next;
      draw();
    },
    yield: () => new Promise((resolve) => setTimeout(resolve, 0)),
    done() {
      clearInterval(timer);
      if (shown) stream.write("\r\u001b[2K");
    },
  };
}
