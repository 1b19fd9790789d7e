/**
 * Reading Sigma YAML: one file may hold several documents (`---`), typically a correlation beside the rules it
 * references. Each document keeps its YAML node tree so that every problem can be reported with its line.
 */
import {
  type Document,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseAllDocuments,
  Scalar,
  visit,
} from 'yaml';
import type { SigmaError, YamlPath } from './errors.js';

export interface SigmaDocument {
  readonly source: string;
  /** 0-based position of the document within its file. */
  readonly index: number;
  /** The document as plain data (maps are objects, sequences arrays). */
  readonly data: unknown;
  /** 1-based line of the node at `path` (for a map entry: its key), or of the nearest ancestor that exists. */
  lineOf(path: YamlPath): number;
}

/** Aliases let a small file expand into a huge one; rules never need many. */
const MAX_ALIAS_COUNT = 50;

/**
 * Parse every document of a YAML text. Syntax errors are appended to `errors` with their line; a document with a
 * syntax error is dropped (its other problems would only be noise).
 */
export function parseSigmaYaml(text: string, source: string, errors: SigmaError[]): SigmaDocument[] {
  const lineCounter = new LineCounter();
  const parsed = parseAllDocuments(text, { lineCounter, prettyErrors: true, uniqueKeys: true, merge: false });
  const documents: SigmaDocument[] = [];
  if (!Array.isArray(parsed)) return documents; // an empty stream
  const lineAt = (offset: number | undefined) => (offset === undefined ? 1 : lineCounter.linePos(offset).line);
  parsed.forEach((doc: Document.Parsed, index) => {
    if (doc.errors.length > 0) {
      for (const error of doc.errors) {
        errors.push({
          source,
          line: error.linePos?.[0]?.line ?? 1,
          code: 'yaml',
          message: `YAML: ${firstLine(error.message)}`,
        });
      }
      return;
    }
    if (doc.contents === null) return; // `---` with nothing after it
    keepNumbersAsWritten(doc);
    let data: unknown;
    try {
      data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (cause) {
      errors.push({ source, line: lineAt(doc.range[0]), code: 'yaml', message: `YAML: ${String(cause)}` });
      return;
    }
    const documentLine = lineAt(doc.contents.range?.[0] ?? doc.range[0]);
    documents.push({
      source,
      index,
      data,
      lineOf: (path) => {
        const offset = offsetOf(doc.contents, path);
        return offset === undefined ? documentLine : lineAt(offset);
      },
    });
  });
  return documents;
}

/**
 * Detection values compare as text, so an unquoted number is kept as it was written wherever YAML's reading of it
 * would write it back otherwise: `1.0` (read as 1), `0x1F` (31), `010`, `1e3`, and integers beyond 2^53, which lose
 * digits (`12345678901234567890`). Only under `detection`: elsewhere (`timespan`, a correlation's `gte: 3`) a
 * number is a number.
 */
function keepNumbersAsWritten(doc: Document.Parsed): void {
  if (!isMap(doc.contents)) return;
  const detection = doc.contents.items.find((pair) => isScalar(pair.key) && pair.key.value === 'detection');
  if (detection?.value == null) return;
  visit(detection.value as Node, {
    Scalar(_key, node) {
      const written = node.source;
      if (
        (typeof node.value === 'number' || typeof node.value === 'bigint') &&
        node.type === Scalar.PLAIN &&
        typeof written === 'string' &&
        written !== String(node.value)
      ) {
        node.value = written;
      }
    },
  });
}

function firstLine(message: string): string {
  const end = message.indexOf('\n');
  return end === -1 ? message : message.slice(0, end);
}

/** Start offset of the node at `path`; for the last step into a map, of the entry's key. */
function offsetOf(root: unknown, path: YamlPath): number | undefined {
  let node: unknown = root;
  let offset = rangeStart(root);
  for (const step of path) {
    if (isMap(node)) {
      const pair = node.items.find((item) => isPair(item) && isScalar(item.key) && String(item.key.value) === step);
      if (!pair) return offset;
      offset = rangeStart(pair.key) ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof step === 'number') {
      const item = node.items[step];
      if (item === undefined) return offset;
      offset = rangeStart(item) ?? offset;
      node = item;
    } else {
      return offset;
    }
  }
  return offset;
}

function rangeStart(node: unknown): number | undefined {
  return (node as Node | null)?.range?.[0] ?? undefined;
}
