/** One bundled example: a folder of examples/ and its manifests, sorted by name. */
export interface Example {
  name: string;
  files: { source: string; text: string }[];
}

/** Every folder of examples/ with its manifests, read as `nodeplan plan <dir>` reads a directory. */
export function readExamples(examplesDir?: string): Example[];

/** One bundled simulation scenario and the example folders its manifests are. */
export interface Simulation {
  name: string;
  scenario: { source: string; text: string };
  examples: string[];
}

/** The scenarios of examples/simulations with the example folders they name. */
export function readSimulations(examplesDir?: string): Simulation[];

/** Builds the page into `outdir` (default packages/playground/dist); returns the files written. */
export function buildPlayground(options?: { outdir?: string; minify?: boolean }): Promise<{
  outdir: string;
  examples: string[];
  files: string[];
  inputs: number;
}>;
