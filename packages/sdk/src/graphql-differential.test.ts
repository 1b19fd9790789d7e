/**
 * The GraphQL scan against graphql-js's parser: random valid documents (aliases, arguments holding braces in strings
 * and input objects, directives, comments, inline fragments, fragments spread at any level), and for each the
 * operations, their root fields and the depth computed from graphql-js's syntax tree must be what the scan found.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type DocumentNode, Kind, parse, type SelectionSetNode } from 'graphql';
import { scanDocument } from './graphql.js';

function generator(seed: number) {
  let state = seed;
  const random = (n: number) => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state % n;
  };
  const pick = <T>(items: readonly T[]): T => items[random(items.length)]!;
  const names = ['login', 'me', 'orders', 'friends', 'id', '__typename', 'on_sale'];
  const values = ['1', '"} { ... on X"', '{ k: [1, { z: "(" }] }', '$v', 'true', '"""block { """', 'ENUM'];
  const comment = () => (random(6) === 0 ? ` # } { ...F0\n` : ' ');

  /** A selection set; fragment `from` may spread only fragments after it (no cycles), -1 for operations. */
  function selection(depthLeft: number, from: number, fragments: number): string {
    const items: string[] = [];
    for (let n = 1 + random(6); n > 0; n--) {
      const kind = random(10);
      if (kind < 6 || depthLeft === 0) {
        // Aliases often, and from a small set, so that fields repeat under other keys and keys repeat too.
        const alias = random(2) === 0 ? `${pick(['x', 'y', 'a1', 'a2'])}${random(3)}: ` : '';
        const args = random(3) === 0 ? `(p: ${pick(values)}, q: ${pick(values)})` : '';
        const directive = random(5) === 0 ? ' @include(if: true)' : '';
        const sub = depthLeft > 0 && random(2) === 0 ? ` ${selection(depthLeft - 1, from, fragments)}` : '';
        items.push(`${alias}${pick(names)}${args}${directive}${sub}`);
      } else if (kind < 8) {
        const condition = random(2) === 0 ? 'on T ' : '@skip(if: false) ';
        items.push(`... ${condition}${selection(depthLeft - 1, from, fragments)}`);
      } else if (from + 1 < fragments) {
        items.push(`...F${from + 1 + random(fragments - from - 1)}${random(4) === 0 ? ' @skip(if: false)' : ''}`);
      }
    }
    if (items.length === 0) items.push(pick(names));
    return `{${comment()}${items.join(random(2) ? ', ' : comment())} }`;
  }

  return () => {
    const fragments = random(4);
    const parts: string[] = [];
    for (let i = 0; i < fragments; i++) parts.push(`fragment F${i} on T ${selection(3, i, fragments)}`);
    const operations = 1 + random(2);
    for (let i = 0; i < operations; i++) {
      const body = selection(4, -1, fragments);
      const header = pick(['query', 'mutation', 'subscription']);
      parts.push(operations === 1 && random(3) === 0 ? body : `${header} Op${i}($v: Int = 1) @live ${body}`);
    }
    // Fragments before or after the operations, as documents have them either way.
    return (random(2) ? parts : parts.reverse()).join('\n');
  };
}

/** Root fields (one name per response key, fragments and inline fragments at the root expanded) and depth. */
function reference(document: DocumentNode) {
  const fragments = new Map<string, SelectionSetNode>();
  for (const d of document.definitions)
    if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d.selectionSet);
  const depth = (set: SelectionSetNode, level: number): number => {
    let deepest = level;
    for (const s of set.selections) {
      if (s.kind === Kind.FIELD && s.selectionSet) deepest = Math.max(deepest, depth(s.selectionSet, level + 1));
      if (s.kind === Kind.INLINE_FRAGMENT) deepest = Math.max(deepest, depth(s.selectionSet, level));
      if (s.kind === Kind.FRAGMENT_SPREAD) {
        const fragment = fragments.get(s.name.value);
        if (fragment) deepest = Math.max(deepest, depth(fragment, level));
      }
    }
    return deepest;
  };
  const rootFields = (set: SelectionSetNode, keys: Map<string, string>) => {
    for (const s of set.selections) {
      if (s.kind === Kind.FIELD) {
        const key = s.alias?.value ?? s.name.value;
        if (!keys.has(key)) keys.set(key, s.name.value);
      } else if (s.kind === Kind.INLINE_FRAGMENT) rootFields(s.selectionSet, keys);
      else {
        const fragment = fragments.get(s.name.value);
        if (fragment) rootFields(fragment, keys);
      }
    }
    return keys;
  };
  const operations = document.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
  return {
    definitions: operations.map((o) => ({ type: o.operation, name: o.name?.value })),
    rootFields: operations.map((o) => [...rootFields(o.selectionSet, new Map()).values()].sort()),
    depth: Math.max(0, ...operations.map((o) => depth(o.selectionSet, 1))),
  };
}

test('the scan agrees with graphql-js on 1500 random documents', () => {
  const next = generator(20261127);
  for (let round = 0; round < 1500; round++) {
    const document = next();
    const expected = reference(parse(document));
    const scanned = scanDocument(document);
    assert.deepEqual(
      {
        definitions: scanned.definitions,
        rootFields: scanned.rootFields.map((f) => [...f].sort()),
        depth: scanned.depth,
      },
      expected,
      document,
    );
  }
});
