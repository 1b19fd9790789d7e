/**
 * GraphQL requests: which operation a request runs, whether it asks for the schema, and how many operations a batch
 * carries. A GraphQL API is one route (`/graphql`), so these are what tell its requests apart.
 *
 * Read from what the framework already parsed (the JSON body: `{ query, operationName }`, or an array of them for a
 * batch) or from the query string of a GET. The document itself is never recorded: its arguments can hold anything
 * (`login(password: "...")`). Only its top level is scanned, for the operation definitions, and its names for
 * `__schema` / `__type` (introspection; `__typename`, which clients add everywhere, is not).
 */

export interface GraphqlOperation {
  readonly name: string | undefined;
  readonly type: 'query' | 'mutation' | 'subscription' | undefined;
  /** Operations in the request: 1, or a batch's length. */
  readonly operations: number;
  readonly introspection: boolean;
}

/** At most this much of a document is scanned; a longer one is described by its beginning. */
const MAX_SCAN = 64 * 1024;
/** At most this many operations of a batch are scanned (all are counted). */
const MAX_BATCH_SCAN = 50;
const NAME = /^[_A-Za-z][_0-9A-Za-z]{0,127}$/;
const OPERATION_TYPES = new Set(['query', 'mutation', 'subscription']);

interface Definition {
  readonly type: GraphqlOperation['type'];
  readonly name: string | undefined;
}

/** The operation definitions at the top level of a document, and whether it names `__schema` or `__type`. */
export function scanDocument(document: string): { definitions: Definition[]; introspection: boolean } {
  const text = document.length > MAX_SCAN ? document.slice(0, MAX_SCAN) : document;
  const definitions: Definition[] = [];
  let introspection = false;
  let depth = 0;
  // At the top level: between definitions (`keyword`), after `query` / `mutation` / `subscription` (`name`), or
  // in a definition's header (its variables, directives, a fragment's type condition), up to its selection set.
  let expect: 'keyword' | 'name' | 'header' = 'keyword';
  let type: Definition['type'];
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      i = skipString(text, i);
      continue;
    }
    if (c === 0x23 /* # */) {
      while (i < text.length && text[i] !== '\n' && text[i] !== '\r') i++;
      continue;
    }
    if (isNameStart(c)) {
      let end = i + 1;
      while (end < text.length && isNameContinue(text.charCodeAt(end))) end++;
      if (depth > 0) {
        // Inside a selection: only introspection matters, and only names starting with `__` can be it.
        if (c === 0x5f && text.charCodeAt(i + 1) === 0x5f) {
          const name = text.slice(i, end);
          if (name === '__schema' || name === '__type') introspection = true;
        }
        i = end;
        continue;
      }
      const name = text.slice(i, end);
      if (expect === 'name') {
        definitions.push({ type, name });
        expect = 'header';
      } else if (expect === 'keyword' && OPERATION_TYPES.has(name)) {
        type = name as Definition['type'];
        expect = 'name';
      } else if (expect === 'keyword') {
        expect = 'header'; // `fragment Name on Type`, or anything else: up to its selection set
      }
      i = end;
      continue;
    }
    if (depth === 0 && expect === 'name' && (c === 0x28 /* ( */ || c === 0x40 /* @ */ || c === 0x7b) /* { */) {
      definitions.push({ type, name: undefined }); // an anonymous operation
      expect = 'header';
    }
    if (c === 0x7b /* { */) {
      if (depth === 0 && expect === 'keyword') definitions.push({ type: 'query', name: undefined }); // `{ ... }`
      if (depth === 0) expect = 'keyword'; // after this selection set, the next definition
      depth++;
    } else if (c === 0x28 /* ( */ || c === 0x5b /* [ */) {
      depth++;
    } else if (c === 0x7d /* } */ || c === 0x29 /* ) */ || c === 0x5d /* ] */) {
      depth = Math.max(0, depth - 1);
    }
    i++;
  }
  return { definitions, introspection };
}

function skipString(text: string, start: number): number {
  if (text.startsWith('"""', start)) {
    // A block string ends at the first `"""` that is not escaped (`\"""`).
    let end = text.indexOf('"""', start + 3);
    while (end !== -1 && text[end - 1] === '\\') end = text.indexOf('"""', end + 3);
    return end === -1 ? text.length : end + 3;
  }
  let i = start + 1;
  while (i < text.length && text[i] !== '"' && text[i] !== '\n') i += text[i] === '\\' ? 2 : 1;
  return i + 1;
}

function isNameStart(c: number): boolean {
  return c === 0x5f || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

function isNameContinue(c: number): boolean {
  return isNameStart(c) || (c >= 0x30 && c <= 0x39);
}

/** One request of the GraphQL-over-HTTP shape: `query` and, optionally, `operationName`. */
function single(query: unknown, operationName: unknown): Omit<GraphqlOperation, 'operations'> | undefined {
  if (typeof query !== 'string') return undefined;
  const { definitions, introspection } = scanDocument(query);
  const wanted = typeof operationName === 'string' && NAME.test(operationName) ? operationName : undefined;
  // With several operations the request must name one; with one, it is that one.
  const chosen = wanted !== undefined ? definitions.find((d) => d.name === wanted) : definitions[0];
  const name = wanted ?? chosen?.name;
  return { name: name !== undefined && NAME.test(name) ? name : undefined, type: chosen?.type, introspection };
}

/**
 * The operation of a GraphQL request, from its parsed body or (a GET) its query string; undefined when neither holds
 * a GraphQL request.
 */
export function graphqlOperation(body: unknown, query: string | undefined): GraphqlOperation | undefined {
  if (Array.isArray(body)) {
    const scanned = body
      .slice(0, MAX_BATCH_SCAN)
      .map((item) => (typeof item === 'object' && item !== null ? single(item.query, item.operationName) : undefined));
    const first = scanned.find((s) => s !== undefined);
    if (first === undefined) return undefined;
    return { ...first, operations: body.length, introspection: scanned.some((s) => s?.introspection === true) };
  }
  if (typeof body === 'object' && body !== null && 'query' in body) {
    const found = single((body as { query?: unknown }).query, (body as { operationName?: unknown }).operationName);
    return found && { ...found, operations: 1 };
  }
  if (query?.includes('query=')) {
    const params = new URLSearchParams(query);
    const found = single(params.get('query'), params.get('operationName'));
    return found && { ...found, operations: 1 };
  }
  return undefined;
}
