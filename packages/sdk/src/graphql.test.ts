import assert from 'node:assert/strict';
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
      operations: 1,
    });
    assert.deepEqual(graphqlOperation({ query: 'mutation Login { login }' }, undefined), {
      name: 'Login',
      type: 'mutation',
      introspection: false,
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
    });
    const small = [{ query: '{ a }' }, { query: '{ __schema { types { name } } }' }];
    assert.equal(graphqlOperation(small, undefined)?.introspection, true);
  });

  test('a GET: query and operationName from the query string', () => {
    const query = new URLSearchParams({ query: 'query Me { me { id } }', operationName: 'Me' }).toString();
    assert.deepEqual(graphqlOperation(undefined, query), {
      name: 'Me',
      type: 'query',
      introspection: false,
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
