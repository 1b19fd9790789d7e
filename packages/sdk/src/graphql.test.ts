import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { graphqlOperation, scanDocument } from './graphql.js';

describe('scanDocument: the top-level operations of a GraphQL document', () => {
  const ops = (document: string) => scanDocument(document).definitions;

  test('named, anonymous and shorthand operations of each type', () => {
    assert.deepEqual(ops('query FindOrders($id: ID!) { orders(id: $id) { id } }'), [
      { type: 'query', name: 'FindOrders' },
    ]);
    assert.deepEqual(ops('mutation { login(user: "a", password: "b") { token } }'), [
      { type: 'mutation', name: undefined },
    ]);
    assert.deepEqual(ops('mutation($u: String = "x") @audit { a }'), [{ type: 'mutation', name: undefined }]);
    assert.deepEqual(ops('{ me { id } }'), [{ type: 'query', name: undefined }]);
    assert.deepEqual(ops('subscription OnOrder @live { order { id } }'), [{ type: 'subscription', name: 'OnOrder' }]);
  });

  test('fragments, several operations, comments and strings that look like syntax are not operations', () => {
    const document = `
      # query Commented { x }
      fragment Fields on Order { id total }
      query A { orders(filter: "} mutation Fake {") { ...Fields } }
      mutation B($list: [Int] = [1, 2]) { cancel(ids: $list, note: """a { block \\""" } string""") }
    `;
    assert.deepEqual(ops(document), [
      { type: 'query', name: 'A' },
      { type: 'mutation', name: 'B' },
    ]);
  });

  test('introspection: __schema or __type asked for, not __typename', () => {
    assert.equal(scanDocument('query IntrospectionQuery { __schema { types { name } } }').introspection, true);
    assert.equal(scanDocument('{ __type(name: "User") { fields { name } } }').introspection, true);
    assert.equal(scanDocument('{ me { id __typename } }').introspection, false);
    assert.equal(scanDocument('{ search(text: "__schema") { id } }').introspection, false, 'inside a string');
  });

  test('root fields: an alias counts under its field; arguments, directives, spreads and nested fields do not', () => {
    const scan = (document: string) => scanDocument(document).rootFields;
    assert.deepEqual(
      scan(`mutation Guess {
        a1: login(user: "ann", password: "1") { token }
        a2 : login(user: "ann", password: "2") { token }
        a3:login(user: "ann", password: "3", meta: { login: "x" }) @include(if: true) { token login }
        me { login }
        ...Extra @skip(if: false)
        ... on Mutation { a4: login(user: "ann", password: "4") { token } }
        ... @include(if: true) { a5: login(user: "ann", password: "5") }
      }`),
      [['login', 'login', 'login', 'me', 'login', 'login']],
    );
    assert.deepEqual(scan('query Q($login: String = "login") @login { a, b,c }'), [['a', 'b', 'c']]);
    assert.deepEqual(scan('fragment F on Query { x } query A { y } { z }'), [['y'], ['z']]);
  });

  test('root fields: one per response key, with the fragments spread at the root', () => {
    const scan = (document: string) => scanDocument(document).rootFields;
    assert.deepEqual(scan('{ login login a: login a: login }'), [['login', 'login']], 'GraphQL merges equal keys');
    assert.deepEqual(
      scan(`mutation Guess { ...Many me { ...Nested } }
        fragment Many on Mutation { a1: login(p: "1") a2: login(p: "2") ...More ...Many }
        fragment More on Mutation { a3: login(p: "3") a1: login(p: "1") }
        fragment Nested on User { b1: login b2: login }`),
      [['me', 'login', 'login', 'login']],
      'spread at the root: counted; inside a field: not a root field; a fragment spreading itself: once',
    );
    assert.deepEqual(scan('{ ...Missing x }'), [['x']]);
  });

  test('depth: selection sets nested, fragments expanded where they are spread; inline fragments add none', () => {
    const depth = (document: string) => scanDocument(document).depth;
    assert.equal(depth('{ a }'), 1);
    assert.equal(depth('{ a { b { c } } }'), 3);
    assert.equal(depth('{ a(filter: { x: { y: 1 } }) { b } }'), 2, 'input objects are values');
    assert.equal(depth('{ a { ... on B { c { d } } } }'), 3);
    assert.equal(depth('query A { a } fragment F on T { b { c { d { e } } } }'), 1, 'a fragment not spread');
    assert.equal(depth('query A { a { ...F } } fragment F on T { b { c { d { e } } } }'), 5);
    assert.equal(
      depth('{ a { ...F } } fragment F on T { b { ...G } } fragment G on T { c { d { ...F } } }'),
      6,
      'fragments spreading each other (invalid GraphQL) are followed round once',
    );
    assert.equal(
      depth(
        `{ ...F0 } ${Array.from({ length: 30 }, (_, i) => `fragment F${i} on T { f { ...F${i + 1} } }`).join(' ')}`,
      ),
      31,
    );
    assert.equal(depth(`{ ${'f { '.repeat(40)}x${' }'.repeat(40)} }`), 41);
    assert.equal(depth('{ a(text: "{{{{{{") }'), 1, 'strings are skipped');
  });

  test('random documents over the syntax characters: never a throw, never an operation without a type', () => {
    const alphabet = ['{', '}', '(', ')', '[', ']', '"', '"""', '\\', '#', '\n', ' ', '@', '$', ':', '!', ',', '...'];
    const words = ['query', 'mutation', 'subscription', 'fragment', 'on', '__schema', '__type', 'Name', 'a'];
    let seed = 42;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let round = 0; round < 2000; round++) {
      let document = '';
      for (let i = random(60); i > 0; i--)
        document += random(2) ? alphabet[random(alphabet.length)] : words[random(words.length)];
      const { definitions } = scanDocument(document);
      for (const d of definitions)
        assert.ok(d.type === 'query' || d.type === 'mutation' || d.type === 'subscription', document);
    }
  });

  test('malformed or hostile input ends without throwing', () => {
    for (const document of [
      '',
      '{{{{',
      '}}}} query',
      '"unterminated',
      '"""open',
      'query',
      '#',
      'query Q(',
      '@'.repeat(1000),
    ]) {
      assert.doesNotThrow(() => scanDocument(document), document);
    }
    const huge = `query Big { ${'a '.repeat(100_000)} }`;
    assert.deepEqual(ops(huge), [{ type: 'query', name: 'Big' }]);
  });
});

describe('graphqlOperation: from the parsed body or the query string', () => {
  test('a POST body: operationName picks among several; without it, the only one', () => {
    const query = 'query A { a } mutation B { b }';
    assert.deepEqual(graphqlOperation({ query, operationName: 'B' }, undefined), {
      name: 'B',
      type: 'mutation',
      introspection: false,
      depth: 1,
      rootFields: ['b'],
      operations: 1,
    });
    assert.deepEqual(graphqlOperation({ query: 'mutation Login { login }' }, undefined), {
      name: 'Login',
      type: 'mutation',
      introspection: false,
      depth: 1,
      rootFields: ['login'],
      operations: 1,
    });
  });

  test('a batch: counted whole, described by its first operation, introspection if any asks', () => {
    const batch = [
      ...Array.from({ length: 60 }, () => ({ query: 'mutation Login { login(user: "a", password: "b") }' })),
      { query: '{ __schema { types { name } } }' },
    ];
    assert.deepEqual(graphqlOperation(batch, undefined), {
      name: 'Login',
      type: 'mutation',
      introspection: false, // the 61st is past the scanned 50
      operations: 61,
      depth: 1,
      rootFields: ['login'],
    });
    const small = [{ query: '{ a }' }, { query: '{ __schema { types { name } } }' }];
    assert.equal(graphqlOperation(small, undefined)?.introspection, true);
  });

  test('the most repeated root field of the chosen operation; a batch takes its deepest document and most repeats', () => {
    const aliases = Array.from({ length: 25 }, (_, i) => `a${i}: login(user: "ann", password: "p${i}") { token }`);
    const query = `query Other { me { id } } mutation Guess { ${aliases.join(' ')} me { id } }`;
    const guess = graphqlOperation({ query, operationName: 'Guess' }, undefined);
    assert.deepEqual(guess?.repeatedField, { name: 'login', count: 25 });
    assert.equal(graphqlOperation({ query, operationName: 'Other' }, undefined)?.repeatedField, undefined);
    assert.equal(graphqlOperation({ query: '{ a b c }' }, undefined)?.repeatedField, undefined, 'each once');
    const batch = graphqlOperation(
      [{ query: '{ a { b } }' }, { query: '{ x: a y: a }' }, { query: '{ a { b { c } } }' }],
      undefined,
    );
    assert.equal(batch?.depth, 3);
    assert.deepEqual(batch?.repeatedField, { name: 'a', count: 2 });
  });

  test('root fields: what the operation runs, each once, sorted, without __typename; none past 16', () => {
    const fields = (query: string) => graphqlOperation({ query }, undefined)?.rootFields;
    assert.deepEqual(fields('mutation Renamed { __typename x: deleteUser(id: 1) { id } a: audit b: audit }'), [
      'audit',
      'deleteUser',
    ]);
    assert.deepEqual(fields('{ ...F } fragment F on Query { orders me }'), ['me', 'orders']);
    assert.deepEqual(fields(`{ ${Array.from({ length: 17 }, (_, i) => `f${i}`).join(' ')} }`), []);
  });

  test('automatic persisted queries: a hash alone is described by the document it was checked against', () => {
    const document = 'mutation Remove($id: ID!) { deleteUser(id: $id) { id } }';
    const hash = createHash('sha256').update(document).digest('hex');
    const extensions = { persistedQuery: { version: 1, sha256Hash: hash } };
    const hashOnly = { operationName: 'Remove', variables: { id: 1 }, extensions };
    // Not seen yet: the name and the hash.
    assert.deepEqual(graphqlOperation(hashOnly, undefined), {
      name: 'Remove',
      type: undefined,
      operations: 1,
      introspection: false,
      depth: 0,
      rootFields: [],
      persistedQuery: hash,
    });
    // Another document sent under that hash is not remembered for it.
    graphqlOperation({ query: '{ me { id } }', operationName: 'Remove', extensions }, undefined);
    assert.equal(graphqlOperation(hashOnly, undefined)?.type, undefined);
    // The document the hash is of: remembered, and the hash alone now runs deleteUser.
    assert.equal(
      graphqlOperation({ query: document, operationName: 'Remove', extensions }, undefined)?.persistedQuery,
      hash,
    );
    assert.deepEqual(graphqlOperation(hashOnly, undefined), {
      name: 'Remove',
      type: 'mutation',
      introspection: false,
      depth: 2,
      rootFields: ['deleteUser'],
      operations: 1,
      persistedQuery: hash,
    });
    // A GET carries extensions as JSON text.
    const get = new URLSearchParams({ operationName: 'Remove', extensions: JSON.stringify(extensions) }).toString();
    assert.deepEqual(graphqlOperation(undefined, get)?.rootFields, ['deleteUser']);
    // Not a SHA-256 hash, or not JSON: nothing.
    const bad = { persistedQuery: { sha256Hash: 'abc' } };
    assert.equal(graphqlOperation({ operationName: 'Remove', extensions: bad }, undefined), undefined);
    assert.equal(graphqlOperation(undefined, 'extensions=%7Bnot-json'), undefined);
  });

  test('a batch of persisted-query hashes: counted and described as far as the hashes are known', () => {
    const document = 'mutation Login($u: String!, $p: String!) { login(user: $u, password: $p) }';
    const hash = createHash('sha256').update(document).digest('hex');
    const extensions = { persistedQuery: { version: 1, sha256Hash: hash } };
    const batch = Array.from({ length: 200 }, (_, i) => ({ operationName: 'Login', variables: { p: i }, extensions }));
    // Hashes never seen with their document: still a batch of 200.
    assert.equal(graphqlOperation(batch, undefined)?.operations, 200);
    graphqlOperation({ query: document, operationName: 'Login', extensions }, undefined);
    const known = graphqlOperation(batch, undefined);
    assert.equal(known?.operations, 200);
    assert.equal(known?.type, 'mutation');
    assert.deepEqual(known?.rootFields, ['login']);
  });

  test('fragments spread twice at every level of a chain are walked once (no exponential time)', {
    timeout: 5000,
  }, () => {
    const n = 40;
    let document = 'query Q { ...F0 }\n';
    for (let i = 0; i < n; i++) document += `fragment F${i} on Query { ...F${i + 1} ...F${i + 1} }\n`;
    document += `fragment F${n} on Query { me }\n`;
    const operation = graphqlOperation({ query: document }, undefined);
    assert.deepEqual(operation?.rootFields, ['me']);
  });

  test('a GET: query and operationName from the query string', () => {
    const query = new URLSearchParams({ query: 'query Me { me { id } }', operationName: 'Me' }).toString();
    assert.deepEqual(graphqlOperation(undefined, query), {
      name: 'Me',
      type: 'query',
      introspection: false,
      depth: 2,
      rootFields: ['me'],
      operations: 1,
    });
  });

  test('not GraphQL, or a name that is not a GraphQL name: nothing, or no name', () => {
    assert.equal(graphqlOperation({ user: 'ann' }, undefined), undefined);
    assert.equal(graphqlOperation(undefined, 'page=2'), undefined);
    assert.equal(graphqlOperation([1, 2], undefined), undefined);
    assert.equal(graphqlOperation({ query: 42 }, undefined), undefined);
    assert.equal(graphqlOperation({ query: '{ a }', operationName: '<script>' }, undefined)?.name, undefined);
  });
});
