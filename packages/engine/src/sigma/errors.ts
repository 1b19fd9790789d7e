/** Problems found while reading and compiling Sigma rules, reported per file and line. */

/** Stable codes, so tools (`vigil rules lint --json`) can filter or count problems. */
export type SigmaErrorCode =
  | 'yaml'
  | 'invalid_rule'
  | 'invalid_detection'
  | 'invalid_condition'
  | 'invalid_modifier'
  | 'unsupported_modifier'
  | 'invalid_value'
  | 'unsupported_logsource'
  | 'invalid_correlation'
  | 'unsupported_correlation'
  | 'unknown_reference'
  | 'duplicate_rule';

export interface SigmaError {
  /** The file (or other label) the text came from, as given to compileSigma. */
  readonly source: string;
  /** 1-based line of the offending YAML node; the document's first line when no node can be named. */
  readonly line: number;
  readonly code: SigmaErrorCode;
  /** What is wrong and, where it helps, what to write instead. */
  readonly message: string;
}

/** A path into a YAML document: map keys and sequence indexes, from the root. */
export type YamlPath = readonly (string | number)[];

/**
 * Collects problems while a document is compiled, so one pass reports all of them. Compilers report against a
 * YAML path; the collector turns it into a line number.
 */
export class Diagnostics {
  readonly errors: SigmaError[] = [];

  constructor(
    private readonly source: string,
    private readonly lineOf: (path: YamlPath) => number,
  ) {}

  report(path: YamlPath, code: SigmaErrorCode, message: string): void {
    this.errors.push({ source: this.source, line: this.lineOf(path), code, message });
  }

  get count(): number {
    return this.errors.length;
  }
}
