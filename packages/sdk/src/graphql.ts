/**
 * GraphQL requests: which operation a request runs, whether it asks for the schema, and how many operations a batch
 * carries. A GraphQL API is one route (`/graphql`), so these are what tell its requests apart.
 *
 * Read from what the framework already parsed (the JSON body: `{ query, operationName, extensions }`, or an array of
 * them for a batch) or from the query string of a GET; a persisted query's hash stands for the document it was
 * checked against. The document itself is never recorded: its arguments can hold anything
 * (`login(password: "...")`). It is scanned once, for the operation definitions, the names of __schema / __type
 * (introspection; `__typename`, which clients add everywhere, is not), the root fields each operation selects
 * (to count one field selected many times through aliases) and how deep its selection sets nest.
 */

import { createHash } from 'node:crypto';

export interface GraphqlOperation {
  readonly name: string | undefined;
  readonly type: 'query' | 'mutation' | 'subscription' | undefined;
  /** Operations in the request: 1, or a batch's length. */
  readonly operations: number;
  readonly introspection: boolean;
  /** The deepest nesting of the operations' selection sets, fragments expanded (a batch: its deepest document). */
  readonly depth: number;
  /**
   * The root field the operation selects most often, when more than once: aliases let one request run `login`
   * a hundred times (`a1: login(...) a2: login(...)`), which a per-request rate limit counts once.
   */
  readonly repeatedField?: { readonly name: string; readonly count: number };
  /**
   * The root fields the operation runs, each once, sorted (`__typename` left out; at most 16): what it does, whatever
   * the client named it. Empty when unknown.
   */
  readonly rootFields: readonly string[];
  /** An automatic persisted query's hash (`extensions.persistedQuery.sha256Hash`), when the request carries one. */
  readonly persistedQuery?: string;
}

/** At most this many distinct root fields are recorded. */
const MAX_RECORDED_ROOT_FIELDS = 16;

/** The distinct root fields of a list, sorted, without `__typename`; empty past MAX_RECORDED_ROOT_FIELDS. */
function distinctRootFields(names: readonly string[]): string[] {
  const distinct = [...new Set(names)].filter((name) => name !== '__typename' && NAME.test(name));
  return distinct.length > MAX_RECORDED_ROOT_FIELDS ? [] : distinct.sort();
}

/** At most this much of a document is scanned; a longer one is described by its beginning. */
const MAX_SCAN = 64 * 1024;
/** At most this many operations of a batch are scanned (all are counted). */
const MAX_BATCH_SCAN = 50;
/** At most this many root fields of one definition are kept for counting repeats. */
const MAX_ROOT_FIELDS = 1000;
const NAME = /^[_A-Za-z][_0-9A-Za-z]{0,127}$/;
const OPERATION_TYPES = new Set(['query', 'mutation', 'subscription']);

interface Definition {
  readonly type: GraphqlOperation['type'];
  readonly name: string | undefined;
}

export interface ScannedDocument {
  /** The operation definitions, in order (fragments are not operations). */
  readonly definitions: Definition[];
  /**
   * Per operation definition: the names of the fields its root selects, one per response key (`a1: login` and
   * `a2: login` are two, a field selected twice under one key is one, as GraphQL merges it), with the fragments
   * spread at its root expanded.
   */
  readonly rootFields: string[][];
  /** Whether the document names `__schema` or `__type`. */
  readonly introspection: boolean;
  /** The deepest nesting of an operation's selection sets, fragments expanded; inline fragments add no level. */
  readonly depth: number;
}

/** What one definition, an operation or a fragment, selects as written. */
interface Selections {
  /** Root fields: the field's name and its response key (the alias, else the name); capped. */
  readonly fields: { readonly name: string; readonly key: string }[];
  /** Fragment spreads: the fragment's name, and the level of the selection set it is spread in; capped. */
  readonly spreads: { readonly name: string; readonly level: number }[];
  /** How deep its own selection sets nest. */
  depth: number;
}

const newSelections = (): Selections => ({ fields: [], spreads: [], depth: 0 });

// What an open bracket is: a value (arguments, lists, input objects, variable definitions), a selection set, or an
// inline fragment's selection set (`... on Type { }`), which adds no level.
const VALUE = 0;
const SELECTION = 1;
const INLINE_FRAGMENT = 2;

/**
 * The operation definitions at the top level of a document, the fields each selects at its root, how deep its
 * selection sets nest, and whether it names `__schema` or `__type`. One pass over the characters (strings and
 * comments skipped), then fragments expanded where they are spread; never throws on malformed input.
 */
export function scanDocument(document: string): ScannedDocument {
  const text = document.length > MAX_SCAN ? document.slice(0, MAX_SCAN) : document;
  const definitions: Definition[] = [];
  const operations: Selections[] = [];
  const fragments = new Map<string, Selections>();
  let introspection = false;
  const open: number[] = [];
  let values = 0; // open VALUE brackets
  let level = 0; // open SELECTION sets
  // At the top level: between definitions (`keyword`), after `query` / `mutation` / `subscription` (`name`), after
  // `fragment` (`fragment`), or in a definition's header (variables, directives, a fragment's type condition).
  let expect: 'keyword' | 'name' | 'fragment' | 'header' = 'keyword';
  let type: Definition['type'];
  /** The definition whose header is being read, and the one whose selection set is open. */
  let header: Selections | undefined;
  let current: Selections | undefined;
  // Inside a selection set: the next name is a directive's (after `@`), or follows `...` (a fragment's name, or
  // `on` and a type condition; `spread` lasts until the inline fragment's `{` or the spread's name), or follows an
  // alias (`alias`, the response key of the field that comes next).
  let directive = false;
  let spread: 'none' | 'dots' | 'on' | 'inline' = 'none';
  let alias: string | undefined;
  const operation = (name: string | undefined) => {
    definitions.push({ type, name });
    header = newSelections();
    operations.push(header);
    expect = 'header';
  };
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
      if (open.length === 0) {
        const name = text.slice(i, end);
        if (expect === 'name') operation(name);
        else if (expect === 'fragment') {
          header = newSelections();
          fragments.set(name, header);
          expect = 'header';
        } else if (expect === 'keyword' && OPERATION_TYPES.has(name)) {
          type = name as Definition['type'];
          expect = 'name';
        } else if (expect === 'keyword') {
          header = undefined;
          expect = name === 'fragment' ? 'fragment' : 'header'; // anything else: up to its selection set
        }
      } else if (values === 0) {
        // Inside a selection: only names starting with `__` can be introspection.
        if (c === 0x5f && text.charCodeAt(i + 1) === 0x5f) {
          const name = text.slice(i, end);
          if (name === '__schema' || name === '__type') introspection = true;
        }
        if (directive) directive = false;
        else if (spread === 'dots') {
          if (end === i + 2 && text.startsWith('on', i)) spread = 'on';
          else {
            spread = 'none';
            if (current !== undefined && current.spreads.length < MAX_ROOT_FIELDS) {
              current.spreads.push({ name: text.slice(i, end), level });
            }
          }
        } else if (spread === 'on') spread = 'inline';
        else if (isAlias(text, end)) alias = text.slice(i, end);
        else {
          if (level === 1 && current !== undefined && current.fields.length < MAX_ROOT_FIELDS) {
            const name = text.slice(i, end);
            current.fields.push({ name, key: alias ?? name });
          }
          alias = undefined;
        }
      }
      i = end;
      continue;
    }
    if (open.length === 0 && expect === 'name' && (c === 0x28 /* ( */ || c === 0x40 /* @ */ || c === 0x7b) /* { */) {
      operation(undefined); // an anonymous operation
    }
    if (c === 0x40 /* @ */ && values === 0 && open.length > 0) {
      directive = true;
    } else if (c === 0x2e /* . */ && text.charCodeAt(i + 1) === 0x2e && text.charCodeAt(i + 2) === 0x2e) {
      if (values === 0) spread = 'dots';
      i += 3;
      continue;
    } else if (c === 0x7b /* { */) {
      if (values > 0) {
        open.push(VALUE);
        values++;
      } else if (open.length > 0 && spread !== 'none') {
        open.push(INLINE_FRAGMENT); // `... on Type {` or `... @include(if: $x) {`
        spread = 'none';
      } else {
        if (open.length === 0) {
          if (expect === 'keyword') {
            type = 'query'; // `{ ... }`: a query
            operation(undefined);
          }
          current = header;
          header = undefined;
          expect = 'keyword'; // after this selection set, the next definition
        }
        open.push(SELECTION);
        level++;
        if (current !== undefined && level > current.depth) current.depth = level;
      }
    } else if (c === 0x28 /* ( */ || c === 0x5b /* [ */) {
      open.push(VALUE);
      values++;
    } else if (c === 0x7d /* } */ || c === 0x29 /* ) */ || c === 0x5d /* ] */) {
      const kind = open.pop();
      if (kind === VALUE) values--;
      else if (kind === SELECTION) level--;
      if (open.length === 0) current = undefined;
    }
    i++;
  }
  if (fragments.size === 0) {
    // Nothing to expand (most documents): the operations as written.
    let depth = 0;
    for (const o of operations) depth = Math.max(depth, o.depth);
    return { definitions, rootFields: operations.map(distinctKeys), introspection, depth };
  }
  const expand = new FragmentExpansion(fragments);
  let depth = 0;
  for (const o of operations) depth = Math.max(depth, expand.depth(o));
  return { definitions, rootFields: operations.map((o) => expand.rootFields(o)), introspection, depth };
}

/** The root fields' names of selections without fragments, one per response key. */
function distinctKeys(s: Selections): string[] {
  if (s.fields.length < 2) return s.fields.map((f) => f.name);
  const keys = new Set<string>();
  const names: string[] = [];
  for (const field of s.fields) {
    if (keys.has(field.key)) continue;
    keys.add(field.key);
    names.push(field.name);
  }
  return names;
}

/**
 * Fragments expanded where they are spread: an operation's depth with its fragments' selection sets in place, and
 * its root fields with those of the fragments spread at its root. A fragment that spreads itself (invalid GraphQL)
 * is not followed round again.
 */
class FragmentExpansion {
  private readonly depths = new Map<Selections, number>();
  private readonly visiting = new Set<Selections>();

  constructor(private readonly fragments: ReadonlyMap<string, Selections>) {}

  depth(s: Selections): number {
    const known = this.depths.get(s);
    if (known !== undefined) return known;
    if (this.visiting.has(s)) return s.depth;
    this.visiting.add(s);
    let depth = s.depth;
    for (const spread of s.spreads) {
      const fragment = this.fragments.get(spread.name);
      // Spread in a selection set of level L, a fragment's first level is level L.
      if (fragment !== undefined) depth = Math.max(depth, spread.level - 1 + this.depth(fragment));
    }
    this.visiting.delete(s);
    this.depths.set(s, depth);
    return depth;
  }

  /**
   * The root fields' names, one per response key, in order. Each selection set is visited once: a fragment spread
   * again (`{ ...F ...F }`, at every level of a chain) adds no key it did not add the first time, and walking it again
   * would make a document of a few hundred bytes cost exponential time.
   */
  rootFields(s: Selections): string[] {
    const keys = new Set<string>();
    const names: string[] = [];
    const seen = new Set<Selections>();
    const visit = (selections: Selections) => {
      if (seen.has(selections)) return;
      seen.add(selections);
      for (const field of selections.fields) {
        if (keys.has(field.key) || names.length >= MAX_ROOT_FIELDS) continue;
        keys.add(field.key);
        names.push(field.name);
      }
      for (const spread of selections.spreads) {
        const fragment = spread.level === 1 ? this.fragments.get(spread.name) : undefined;
        if (fragment !== undefined) visit(fragment);
      }
    };
    visit(s);
    return names;
  }
}

/** Whether the name ending at `end` is an alias: the next character but blanks and commas is a colon. */
function isAlias(text: string, end: number): boolean {
  let i = end;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d && c !== 0x2c) return c === 0x3a /* : */;
    i++;
  }
  return false;
}

/** The field selected most often among `fields`, when one is selected more than once. */
function mostRepeated(fields: readonly string[]): GraphqlOperation['repeatedField'] {
  if (fields.length < 2) return undefined;
  const counts = new Map<string, number>();
  let best: { name: string; count: number } | undefined;
  for (const name of fields) {
    const count = (counts.get(name) ?? 0) + 1;
    counts.set(name, count);
    if (count > 1 && (best === undefined || count > best.count)) best = { name, count };
  }
  return best;
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
  const { definitions, rootFields, introspection, depth } = scanDocument(query);
  const wanted = typeof operationName === 'string' && NAME.test(operationName) ? operationName : undefined;
  // With several operations the request must name one; with one, it is that one.
  const index = wanted !== undefined ? definitions.findIndex((d) => d.name === wanted) : 0;
  const chosen = definitions[index];
  const name = wanted ?? chosen?.name;
  const fields = chosen ? rootFields[index]! : [];
  const repeatedField = mostRepeated(fields);
  return {
    name: name !== undefined && NAME.test(name) ? name : undefined,
    type: chosen?.type,
    introspection,
    depth,
    ...(repeatedField && NAME.test(repeatedField.name) ? { repeatedField } : {}),
    rootFields: distinctRootFields(fields),
  };
}

const SHA256_HEX = /^[0-9a-f]{64}$/;
/** Documents remembered by their persisted-query hash (and operation name), at most this many. */
const MAX_PERSISTED = 1000;
const persisted = new Map<string, Omit<GraphqlOperation, 'operations' | 'persistedQuery'>>();

/** The hash of an automatic persisted query, from `extensions` (an object, or a GET's JSON text). */
function persistedHash(extensions: unknown): string | undefined {
  let value = extensions;
  if (typeof value === 'string') {
    if (value.length > 2048) return undefined;
    try {
      value = JSON.parse(value);
    } catch {
      return undefined;
    }
  }
  const hash = (value as { persistedQuery?: { sha256Hash?: unknown } } | null)?.persistedQuery?.sha256Hash;
  return typeof hash === 'string' && SHA256_HEX.test(hash) ? hash : undefined;
}

/**
 * One GraphQL-over-HTTP request: `query` and `operationName`, and a persisted query's hash in `extensions`. With
 * automatic persisted queries a client sends the hash alone, and the document with it only once, when the server
 * did not know the hash yet: what that document runs is remembered under its hash (once the hash is checked to be
 * the document's, so that nobody can describe a hash with another document), and the requests that send the hash
 * alone are described by it. In a process that never saw the document, they carry their name and hash only.
 */
function request(query: unknown, operationName: unknown, extensions: unknown): GraphqlOperation | undefined {
  const hash = persistedHash(extensions);
  const key = hash && `${hash} ${typeof operationName === 'string' && NAME.test(operationName) ? operationName : ''}`;
  const found = single(query, operationName);
  if (found !== undefined) {
    if (key !== undefined && !persisted.has(key) && (query as string).length <= MAX_SCAN) {
      if (
        createHash('sha256')
          .update(query as string)
          .digest('hex') === hash
      ) {
        if (persisted.size >= MAX_PERSISTED) persisted.delete(persisted.keys().next().value as string);
        persisted.set(key, found);
      }
    }
    return { ...found, operations: 1, ...(hash ? { persistedQuery: hash } : {}) };
  }
  if (key === undefined) return undefined;
  const known = persisted.get(key);
  if (known) return { ...known, operations: 1, persistedQuery: hash };
  const name = typeof operationName === 'string' && NAME.test(operationName) ? operationName : undefined;
  return { name, type: undefined, operations: 1, introspection: false, depth: 0, rootFields: [], persistedQuery: hash };
}

/**
 * The operation of a GraphQL request, from its parsed body or (a GET) its query string; undefined when neither holds
 * a GraphQL request. A batch is described by its first operation's name and type, and by the most of the rest: its
 * deepest document, its most repeated root field, and introspection if any entry asks for it.
 */
export function graphqlOperation(body: unknown, query: string | undefined): GraphqlOperation | undefined {
  if (Array.isArray(body)) {
    // Each entry as a request of its own: a persisted query's hash alone (Apollo's batch link with APQ) included.
    const scanned = body
      .slice(0, MAX_BATCH_SCAN)
      .map((item) =>
        typeof item === 'object' && item !== null
          ? request(item.query, item.operationName, item.extensions)
          : undefined,
      );
    const first = scanned.find((s) => s !== undefined);
    if (first === undefined) {
      // Nothing readable in it (hashes this process never saw with their documents): still a batch of that length.
      const requests = body.some(
        (item) => typeof item === 'object' && item !== null && ('query' in item || 'extensions' in item),
      );
      return requests
        ? { name: undefined, type: undefined, operations: body.length, introspection: false, depth: 0, rootFields: [] }
        : undefined;
    }
    let depth = 0;
    let repeatedField: GraphqlOperation['repeatedField'];
    for (const s of scanned) {
      if (s === undefined) continue;
      if (s.depth > depth) depth = s.depth;
      if (s.repeatedField && (repeatedField === undefined || s.repeatedField.count > repeatedField.count)) {
        repeatedField = s.repeatedField;
      }
    }
    return {
      name: first.name,
      type: first.type,
      operations: body.length,
      introspection: scanned.some((s) => s?.introspection === true),
      depth,
      ...(repeatedField ? { repeatedField } : {}),
      rootFields: first.rootFields,
    };
  }
  if (typeof body === 'object' && body !== null && ('query' in body || 'extensions' in body)) {
    const { query: document, operationName, extensions } = body as Record<string, unknown>;
    return request(document, operationName, extensions);
  }
  if (query?.includes('query=') || query?.includes('extensions=')) {
    const params = new URLSearchParams(query);
    return request(params.get('query'), params.get('operationName'), params.get('extensions'));
  }
  return undefined;
}
