import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { MAX_FIELD_NAME_LENGTH, parseEvent } from './event.js';
import { Field } from './fields.js';
import {
  createRedactor,
  FREE_TEXT_PATTERNS,
  hideOperands,
  hideSecretKeys,
  MAX_MEMOISED_KEYS,
  memoByKey,
  PREFIX_MARGIN_CHARS,
  REDACTED,
  redactPairs,
} from './redact.js';

const r = createRedactor();

describe('query strings: values are matched decoded', () => {
  test('a card number with `+` or `%20` separators is redacted', () => {
    assert.equal(r.query('q=4111+1111+1111+1111'), `q=${REDACTED}`);
    assert.equal(r.query('q=4111%201111%201111%201111'), `q=${REDACTED}`);
    assert.equal(r.query('a=1&q=4111%2D1111%2D1111%2D1111&b=2'), `a=1&q=${REDACTED}&b=2`);
    assert.equal(r.query('a=1&4111+1111+1111+1111'), `a=1&${REDACTED}`, 'a parameter without a value');
  });

  test('the rest of a redacted value is kept, percent-encoded, with the marker readable', () => {
    assert.equal(r.query('q=paid+with+4111+1111+1111+1111+today&page=2'), `q=paid%20with%20${REDACTED}%20today&page=2`);
    assert.equal(r.query('note=caf%C3%A9%204111111111111111'), `note=caf%C3%A9%20${REDACTED}`);
    // A decoded `&` or `=` is written back escaped: the value cannot turn into parameters of its own.
    assert.equal(r.query('q=a%26b%3Dc+4111111111111111'), `q=a%26b%3Dc%20${REDACTED}`);
    assert.equal(r.query('src=x&h=Bearer%20abcdefghijklmnop'), `src=x&h=Bearer%20${REDACTED}`);
    // So is a decoded line break: it cannot forge a log line.
    assert.equal(r.query('q=x%0D%0A4111111111111111'), `q=x%0D%0A${REDACTED}`);
    assert.equal(r.query('next=%2Flogin%3Fpassword%3Dhunter2'), `next=/login%3Fpassword%3D${REDACTED}`);
  });

  test('values without secrets are returned as they were, escapes and all', () => {
    for (const q of [
      'a=1&b=2&q=hello',
      'q=hello+world&sort=name%20asc',
      'q=%zz&r=%E0%A4%A',
      'x=%F0%9F%98%80',
      'tags=a+b',
    ]) {
      assert.equal(r.query(q), q);
    }
  });

  test('malformed escapes are tolerated, around a secret too', () => {
    assert.equal(r.query('q=100%+4111+1111+1111+1111'), `q=100%25%20${REDACTED}`);
    assert.equal(r.query('q=%FF+4111+1111+1111+1111'), `q=%EF%BF%BD%20${REDACTED}`, 'invalid UTF-8: U+FFFD');
  });

  test('a redacted query is left as it is when redacted again (the collector runs the SDK rules a second time)', () => {
    for (const q of ['q=paid+with+4111+1111+1111+1111+today', 'code=abc&q=4111%201111%201111%201111', 'pass%77ord=x']) {
      const once = r.query(q);
      assert.equal(r.query(once), once, q);
    }
  });

  test('parameter names are judged decoded', () => {
    assert.equal(r.query('pass%77ord=x'), `pass%77ord=${REDACTED}`);
    assert.equal(r.query('access%5Ftoken=x&a+b=1'), `access%5Ftoken=${REDACTED}&a+b=1`);
  });
});

describe('query strings: credential parameters', () => {
  test('OAuth codes, API keys, signatures and signed-URL credentials are redacted, in any case', () => {
    const cases: [input: string, expected: string][] = [
      ['state=xyz&code=4%2F0AY0e-g7Qz', `state=xyz&code=${REDACTED}`],
      ['key=AIzaSyD-abcdefghijklmnopqrstuvwx&q=paris', `key=${REDACTED}&q=paris`],
      ['sv=2022-11-02&sr=b&sig=abc%2Bdef%3D', `sv=2022-11-02&sr=b&sig=${REDACTED}`],
      ['Signature=abc&Expires=1', `Signature=${REDACTED}&Expires=1`],
      [
        'X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F20260101%2Fus-east-1&X-Amz-Signature=fe5f',
        `X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=${REDACTED}&X-Amz-Signature=${REDACTED}`,
      ],
      ['X-Amz-Security-Token=FQoGZX', `X-Amz-Security-Token=${REDACTED}`],
      [
        'X-Goog-Credential=sa%40p.iam&X-Goog-Signature=0a1b',
        `X-Goog-Credential=${REDACTED}&X-Goog-Signature=${REDACTED}`,
      ],
      ['auth=Bearer%20abcdef', `auth=${REDACTED}`],
      ['CODE=x&Key=y&SIG=z', `CODE=${REDACTED}&Key=${REDACTED}&SIG=${REDACTED}`],
    ];
    for (const [q, expected] of cases) assert.equal(r.query(q), expected, q);
  });

  test('a bracketed parameter of such a name is one of them: code[]=x, key[0]=x', () => {
    assert.equal(
      r.query('code[]=a1&key[0]=b2&sig%5B%5D=c3&codes[]=keep&x[code]=keep'),
      `code[]=${REDACTED}&key[0]=${REDACTED}&sig%5B%5D=${REDACTED}&codes[]=keep&x[code]=keep`,
    );
    assert.equal(r.isSensitiveQueryName('code[0]'), true);
    assert.equal(r.isSensitiveKey('code[0]'), false, 'in data it is not a credential');
    assert.equal(
      r.text('sent to https://app.example/cb?code[]=a1&state=xyz'),
      `sent to https://app.example/cb?code[]=${REDACTED}&state=xyz`,
    );
  });

  test("platforms' session ids are sensitive, in a path parameter and a query string too", () => {
    for (const name of ['JSESSIONID', 'jsessionid', 'PHPSESSID', 'ASP.NET_SessionId', 'X-Session-Id', 'sessionId'])
      assert.equal(r.isSensitiveKey(name), true, name);
    assert.equal(r.isSensitivePath(Field.sessionId), false, 'the session hash of the event model is kept');
    assert.equal(r.url('/shop/cart;jsessionid=1A2B3C4D5E6F'), '/shop/cart;jsessionid=[REDACTED]');
    assert.equal(r.url('/shop.php?PHPSESSID=abc123&page=2'), '/shop.php?PHPSESSID=[REDACTED]&page=2');
    assert.equal(r.query('a=1&ASP.NET_SessionId=x1y2z3'), 'a=1&ASP.NET_SessionId=[REDACTED]');
  });

  test('names that merely contain them are kept', () => {
    const q = 'country_code=FR&promoCode=SPRING&keyword=shoes&sort_key=name&design=x';
    assert.equal(r.query(q), q);
  });

  test("a session's idle timeout and a language model's token counts are no secrets; what else they hold counts", () => {
    for (const name of [
      'sessionIdleTimeout',
      'SESSION_IDLE_TIMEOUT_MS',
      'max_tokens',
      'maxCompletionTokens',
      'max_output_tokens',
      'usage.prompt_tokens',
      'completion_tokens',
      'total_tokens',
      'input_tokens',
      'cached_tokens',
    ]) {
      assert.equal(r.isSensitiveKey(name), false, name);
    }
    for (const name of [
      'sessionId',
      'session_id_idle',
      'session_idle_token',
      'sessionIdleSecret',
      'access_tokens',
      'refreshTokens',
      'max_tokens_secret',
      'tokens',
    ]) {
      assert.equal(r.isSensitiveKey(name), true, name);
    }
    assert.deepEqual(r.fields({ body: { model: 'm', max_tokens: 256, api_token: 'sk-abc' } }), {
      'body.model': 'm',
      'body.max_tokens': 256,
      'body.api_token': REDACTED,
    });
    assert.equal(r.text('max_tokens=256 token=abc'), `max_tokens=256 token=${REDACTED}`);
  });

  test('code, key and sig are query-only names; signature and auth are sensitive anywhere', () => {
    for (const name of ['code', 'key', 'sig', 'X-Amz-Signature'])
      assert.equal(r.isSensitiveQueryName(name), true, name);
    for (const name of ['code', 'key', 'sig', 'status_code', 'keyword'])
      assert.equal(r.isSensitiveKey(name), false, name);
    for (const name of [
      'signature',
      'auth',
      'x-amz-signature',
      'x-goog-signature',
      'x-amz-credential',
      'X-Amz-Security-Token',
    ]) {
      assert.equal(r.isSensitiveKey(name), true, name);
    }
    assert.deepEqual(r.fields({ code: 'E42', key: 'theme', auth: { user: 'ann' } }), {
      code: 'E42',
      key: 'theme',
      auth: REDACTED,
    });
    assert.equal(r.text('exit code=3 key=theme'), 'exit code=3 key=theme', 'free text: not a credential');
  });

  test('configured keys apply to query parameters', () => {
    const custom = createRedactor({ keys: ['voucher'] });
    assert.equal(custom.query('voucher=XMAS&code=1'), `voucher=${REDACTED}&code=${REDACTED}`);
  });
});

describe('URLs: the query by the query rules', () => {
  test('an absolute URL or a path: its query redacted, its fragment and path kept', () => {
    assert.equal(
      r.url('https://app.example/callback?code=SplxlOBeZQQYbYS6WxSbIA&state=xyz#top'),
      `https://app.example/callback?code=${REDACTED}&state=xyz#top`,
    );
    assert.equal(r.url('/orders?key=AIzaSy0&page=2'), `/orders?key=${REDACTED}&page=2`);
    assert.equal(r.url('https://app.example/a?b=1'), 'https://app.example/a?b=1');
  });

  test('what is not a URL is free text: a query-only name there counts only after ? or &', () => {
    assert.equal(r.url('what?code=42'), `what?code=${REDACTED}`);
    assert.equal(r.url('error code=42'), 'error code=42');
    assert.equal(r.url('Mozilla/5.0 token=abc'), `Mozilla/5.0 token=${REDACTED}`);
  });

  test('a URL inside free text, or inside a parameter, gets the query rules', () => {
    assert.equal(
      r.text('redirecting to https://app.example/cb?state=xyz&code=SplxlOBeZQQ after login'),
      `redirecting to https://app.example/cb?state=xyz&code=${REDACTED} after login`,
    );
    assert.equal(r.text('{"code": "E42", "key": "sku"}'), '{"code": "E42", "key": "sku"}', 'JSON fields are kept');
    assert.equal(r.text('code: E42, key=primary'), 'code: E42, key=primary', 'outside a query, kept');
    assert.equal(
      r.query('next=https%3A%2F%2Fapp.example%2Fcb%3Fcode%3DSplxlOB'),
      `next=https://app.example/cb%3Fcode%3D${REDACTED}`, // written back encoded where the query needs it
    );
  });
});

describe('card numbers followed or preceded by more digits', () => {
  test('card + CVV, card + short number: the card is redacted, the rest kept', () => {
    assert.equal(r.text('card 4111 1111 1111 1111 123'), `card ${REDACTED} 123`);
    assert.equal(r.text('4111111111111111 12'), `${REDACTED} 12`);
    assert.equal(r.text('5500-0000-0000-0004-999 exp'), `${REDACTED}-999 exp`);
    assert.equal(r.text('4111111111111111 12 25'), `${REDACTED} 12 25`);
  });

  test('a card after a short number, and two cards in one run', () => {
    assert.equal(r.text('qty 2 4111111111111111'), `qty 2 ${REDACTED}`);
    assert.equal(r.text('12 35 4111 1111 1111 1111 5'), `12 35 ${REDACTED} 5`);
    assert.equal(r.text('4111111111111111 5500000000000004'), `${REDACTED} ${REDACTED}`);
  });

  test('digits inside a hexadecimal id (a trace id, a hash) are not a card, even when they pass Luhn', () => {
    // 2803874610389708219: 19 digits, issuer prefix 2, Luhn-valid.
    for (const id of ['9d05b4be45f4a2803874610389708219', '2803874610389708219abcdef', 'sha:ff2803874610389708219']) {
      assert.equal(r.text(id), id);
    }
    assert.equal(r.text('ref 2803874610389708219.'), `ref ${REDACTED}.`);
  });

  test('a long contiguous id is never searched for a card inside it', () => {
    // 411111111111111112345678: its first 16 digits are a valid card, but windows inside one run of digits are not
    // tried (about 1 in 10 windows of any long id passes Luhn).
    for (const id of ['411111111111111112345678', '123456789012345678901234', '4111111111111111123']) {
      assert.equal(r.text(`order ${id}`), `order ${id}`, id);
    }
    assert.equal(r.text('411111111111111112345678 4111111111111111'), `411111111111111112345678 ${REDACTED}`);
  });

  test('grouped numbers that are no card are kept', () => {
    for (const s of ['4111 1111 1111 1112 123', '1234 5678 9012 3456 7890', '2026-11-26 09-30-00']) {
      assert.equal(r.text(s), s, s);
    }
  });

  test('a card under a sensitive key is redacted whole, not just its first group', () => {
    assert.equal(r.text('cardnumber: 4111 1111 1111 1111'), `cardnumber: ${REDACTED}`);
  });
});

describe('card numbers sent as JSON numbers', () => {
  test('one of 17 to 19 digits, rounded when parsed, is still redacted', () => {
    // Luhn-valid 19- and 17-digit card numbers; JSON.parse keeps their first 16 or so digits.
    for (const card of ['6267767189073579701', '51234567890123457', '4000000000000000006']) {
      assert.equal(r.value(JSON.parse(card)), REDACTED, card);
      assert.equal(r.fields({ pan: JSON.parse(card) }).pan, REDACTED, card);
    }
    assert.equal(r.value(4111111111111111), REDACTED, 'an exact one, checked as in text');
  });

  test('other large numbers are kept: past 19 digits, a first digit no card has, or exact and not a card', () => {
    for (const text of ['1234567890123456789', '9007199254740993', '7123456789012345678', '1e20', '4111111111111112']) {
      const n: number = JSON.parse(text);
      assert.equal(r.value(n), n, text);
    }
  });
});

describe('free text: authorization headers and key = value secrets', () => {
  test('the whole credential after authorization: is redacted, whatever the scheme', () => {
    const cases: [input: string, expected: string][] = [
      ['Authorization: Token abcdef123456', `Authorization: ${REDACTED}`],
      ['Authorization: Basic dXNlcjpwYXNz', `Authorization: ${REDACTED}`],
      ['proxy-authorization: Basic dXNlcjpwYXNzd29yZA== next', `proxy-authorization: ${REDACTED} next`],
      [
        'Authorization: Digest username="Mufasa", realm="r@h", nonce="dcd98b", uri="/", response="6629fae4"',
        `Authorization: ${REDACTED}`,
      ],
      [
        'Authorization: AWS4-HMAC-SHA256 Credential=AKIA/2026/s3/aws4_request, SignedHeaders=host;date, Signature=fe5f',
        `Authorization: ${REDACTED}`,
      ],
      ['Authorization: SharedKey myaccount:ctzMq410TV3wS7upTBcunJTDLEJwMAZuFPfr0mrrA08=', `Authorization: ${REDACTED}`],
      ['HTTP_AUTHORIZATION=Token abc123 REMOTE_ADDR=10.0.0.1', `HTTP_AUTHORIZATION=${REDACTED} REMOTE_ADDR=10.0.0.1`],
      [
        'curl -H "Authorization: Token abc123" https://api.example',
        `curl -H "Authorization: ${REDACTED}" https://api.example`,
      ],
      ["{'Authorization': 'Token abc123', 'Accept': 'json'}", `{'Authorization': '${REDACTED}', 'Accept': 'json'}`],
      ['{"authorization": "Digest username=\\"u\\", response=\\"r\\""}', `{"authorization": "${REDACTED}"}`],
      ['Authorization: Token abc123\nAccept: json', `Authorization: ${REDACTED}\nAccept: json`],
      ['authorization: Token abc, accept: json', `authorization: ${REDACTED}, accept: json`],
    ];
    for (const [input, expected] of cases) {
      assert.equal(r.text(input), expected, input);
      assert.equal(r.text(expected), expected, `${input}: redacted twice`);
    }
  });

  test('key = value secrets with spaces around the separator or a quoted value', () => {
    const cases: [input: string, expected: string][] = [
      ['password = hunter2', `password = ${REDACTED}`],
      ["password='hunter2'", `password='${REDACTED}'`],
      ['password: "hunter2"', `password: "${REDACTED}"`],
      ['db_password = "with spaces and \\"quotes\\"" host=x', `db_password = "${REDACTED}" host=x`],
      ["{'api_key': 'k3y', 'user': 'ann'}", `{'api_key': '${REDACTED}', 'user': 'ann'}`],
      ['client_secret :s3cr3t', `client_secret :${REDACTED}`],
      ['code_verifier=dBjftJeZ4CVP&grant_type=x', `code_verifier=${REDACTED}&grant_type=x`],
      [
        'oauth_verifier=hfdp7dh39 auth_code=4/0AY SAMLResponse=PHNhbWxwOl',
        `oauth_verifier=${REDACTED} auth_code=${REDACTED} SAMLResponse=${REDACTED}`,
      ],
      ['SAMLart=AAQAAMh48', `SAMLart=${REDACTED}`],
      ['token="unterminated and more', `token="${REDACTED}`],
      ['pin = 1234', `pin = ${REDACTED}`],
      // Ruby hashes, as Rails logs parameters.
      ['{"user"=>"ann", "password"=>"hunter2"}', `{"user"=>"ann", "password"=>"${REDACTED}"}`],
      ['{:api_key => "k3y"}', `{:api_key => "${REDACTED}"}`],
    ];
    for (const [input, expected] of cases) {
      assert.equal(r.text(input), expected, input);
      assert.equal(r.text(expected), expected, `${input}: redacted twice`);
    }
  });

  test('a triple-quoted value under a sensitive key is hidden whole, across lines, up to its three closing quotes', () => {
    const cases: [input: string, expected: string][] = [
      ['login(user: "ann", password: """hunter2""") { ok }', `login(user: "ann", password: """${REDACTED}""") { ok }`],
      ['login(password:"""a " b "" c\\""" d""") x', `login(password:"""${REDACTED}""") x`],
      ["secret = '''line one\nline two'''\nname = 'x'", `secret = '''${REDACTED}'''\nname = 'x'`],
      ['token: """never closed\nmore', `token: """${REDACTED}`],
      ['password: "" and more', `password: "${REDACTED}" and more`],
    ];
    for (const [input, expected] of cases) assert.equal(r.text(input), expected, input);
  });

  test('a list or an object under a sensitive key is hidden whole, up to the bracket that closes it', () => {
    const cases: [input: string, expected: string][] = [
      ['{"password": ["hunter2", "x y"], "user": "ann"}', `{"password": ${REDACTED}, "user": "ann"}`],
      ['{"token":{"v":"a]}b","w":[1,{"x":2}]},"n":1}', `{"token":${REDACTED},"n":1}`],
      ["secret = {'k': 'v v'} rest", `secret = ${REDACTED} rest`],
      ['password=[x] ok', `password=${REDACTED} ok`],
      // Unclosed: up to the end of the line.
      ['password: ["hunter2\nnext line', `password: ${REDACTED}\nnext line`],
      // Under another key, a list is kept, and a secret inside it is still found.
      ['roles: ["admin", "password=hunter2"]', `roles: ["admin", "password=${REDACTED}"]`],
    ];
    for (const [input, expected] of cases) {
      assert.equal(r.text(input), expected, input);
      assert.equal(r.text(expected), expected, `${input}: redacted twice`);
    }
  });

  test('an XML element named like a secret loses its content, attributes and the other elements kept', () => {
    const cases: [input: string, expected: string][] = [
      ['<user>ann</user><password>hunter2</password>', `<user>ann</user><password>${REDACTED}</password>`],
      ['<ns:Token type="t">abc</ns:Token >', `<ns:Token type="t">${REDACTED}</ns:Token>`],
      ['<Password></Password><b>x</b>', `<Password>${REDACTED}</Password><b>x</b>`],
      // Elements inside it, and the same name nested: up to its first end tag.
      ['<password><v>x</v></password><b>y</b>', `<password>${REDACTED}</password><b>y</b>`],
      [
        '<creds><secret><part>a</part><part>b</part></secret><user>ann</user></creds>',
        `<creds><secret>${REDACTED}</secret><user>ann</user></creds>`,
      ],
      ['<token a="1">x<token>y</token>z</token>', `<token a="1">${REDACTED}</token>z</token>`],
      // An end tag in another case ends it (XML would not have it, but what wrote it meant it).
      ['<Password>hunter2</password>', `<Password>${REDACTED}</Password>`],
      ['<password>hunter2</PASSWORD> ok', `<password>${REDACTED}</password> ok`],
      // An element that never ends, another's end tag, and an empty element: left alone.
      ['<password>x</token>', '<password>x</token>'],
      ['<password/><user>ann</user>', '<password/><user>ann</user>'],
      ['<password /><user>ann</user>', '<password /><user>ann</user>'],
      ['</password><password>', '</password><password>'],
    ];
    for (const [input, expected] of cases) {
      assert.equal(r.text(input), expected, input);
      assert.equal(r.text(expected), expected, `${input}: redacted twice`);
    }
  });

  test('credentials of a known format, private keys and --option values are hidden wherever they are written', () => {
    const key =
      '-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy0AHB7Mh+z=\n-----END RSA PRIVATE KEY-----';
    const cases: [input: string, expected: string][] = [
      [`config ${key} loaded`, `config -----BEGIN RSA PRIVATE KEY-----${REDACTED}-----END RSA PRIVATE KEY----- loaded`],
      // Cut before its last line: hidden to the end.
      ['k=-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0', `k=-----BEGIN PRIVATE KEY-----${REDACTED}`],
      ['push ghp_abcdefghijklmnopqrstuvwxyz0123456789 ok', `push ${REDACTED} ok`],
      ['github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz', REDACTED],
      ['slack xoxb-123456789012-abcdefghij failed', `slack ${REDACTED} failed`],
      ['charge with sk_live_4eC39HqLyjWDarjtT1zdp7dc', `charge with ${REDACTED}`],
      ['id AKIAIOSFODNN7EXAMPLE, region eu', `id ${REDACTED}, region eu`],
      ['maps AIzaSyA-1234567890abcdefghijklmnopqrstu', `maps ${REDACTED}`],
      ['npm_abcdefghijklmnopqrstuvwxyz0123456789', REDACTED],
      ['glpat-abcdefghij0123456789', REDACTED],
      ['spawn tool --password hunter2 --user ann', `spawn tool --password ${REDACTED} --user ann`],
      ['--api-key "k e y" --verbose', `--api-key "${REDACTED}" --verbose`],
    ];
    for (const [input, expected] of cases) {
      assert.equal(r.text(input), expected, input);
      assert.equal(r.text(expected), expected, `${input}: redacted twice`);
    }
    // Look-alikes are kept: a certificate (public), a token glued into a longer word, words that only start alike,
    // an option with no value after it, a user agent.
    for (const kept of [
      '-----BEGIN CERTIFICATE-----\nMIIE\n-----END CERTIFICATE-----',
      'xAKIAIOSFODNN7EXAMPLE AKIAIOSFODNN7EXAMPLEX',
      '/api/desk_top/ghost_a/task_live_1',
      'run --token --verbose',
      'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)',
    ]) {
      assert.equal(r.text(kept), kept, kept);
    }
  });

  test('a secret pair inside the value of another pair is found', () => {
    assert.equal(r.text('user: password=hunter2'), `user: password=${REDACTED}`);
    assert.equal(r.text('next=/login?password=hunter2'), `next=/login?password=${REDACTED}`);
    assert.equal(r.text('a = token = abc'), `a = token = ${REDACTED}`);
  });

  test('text without secrets is unchanged', () => {
    for (const s of [
      'user = ann, role: admin',
      'authorization failed for ann',
      'GET /orders?page=2 took 12ms',
      'msg="it\'s fine" level=info',
      'at 12:30:45 status=ok',
    ]) {
      assert.equal(r.text(s), s, s);
    }
  });
});

describe('URLs: the password of the user information', () => {
  test('runs to the last @ of the authority: a user name or a password may hold a raw @', () => {
    const cases: [input: string, expected: string][] = [
      ['postgres://app:P@ssw0rd@db/prod', `postgres://app:${REDACTED}@db/prod`],
      [
        'smtp://ann@example.com:hunter2@smtp.example.com:587',
        `smtp://ann@example.com:${REDACTED}@smtp.example.com:587`,
      ],
      ['amqp://guest:gu@st@rabbit:5672/', `amqp://guest:${REDACTED}@rabbit:5672/`],
      ['redis://:p@ss@cache:6379', `redis://:${REDACTED}@cache:6379`],
      ['via https://bob:My@Secret@app.example/x?y=1 then', `via https://bob:${REDACTED}@app.example/x?y=1 then`],
      // The authority ends at the path, the query, the fragment or a space: an `@` there is no user information.
      ['https://app.example:8443/users/@ann', 'https://app.example:8443/users/@ann'],
      ['https://user@host/x and mailto:a@b.example', 'https://user@host/x and mailto:a@b.example'],
      ['see http://a:b@c/ and https://d:e@f@g#h', `see http://a:${REDACTED}@c/ and https://d:${REDACTED}@g#h`],
    ];
    for (const [input, expected] of cases) {
      assert.equal(r.text(input), expected, input);
      assert.equal(r.text(expected), expected, `${input}: redacted twice`);
    }
  });
});

describe('URLs and paths: escaped path segments are judged decoded', () => {
  test('a card number, a bearer credential or a key=value secret written with escapes in a path is redacted', () => {
    const cases: [input: string, expected: string][] = [
      ['/cards/4111%201111%201111%201111/verify', `/cards/${REDACTED}/verify`],
      ['/search/my%20card%20is%204111%201111%201111%201111', `/search/my%20card%20is%20${REDACTED}`],
      ['/auth/Bearer%20abcdefghijklmnop/x', `/auth/Bearer%20${REDACTED}/x`],
      ['/login/password%3Dhunter2', `/login/password%3D${REDACTED}`],
      ['https://app.example/cards/4111%201111%201111%201111?page=2', `https://app.example/cards/${REDACTED}?page=2`],
      // A decoded `/` stays escaped: the path keeps its segments.
      ['/files/a%2F4111%201111%201111%201111', `/files/a%2F${REDACTED}`],
    ];
    for (const [input, expected] of cases) {
      assert.equal(r.url(input), expected, input);
      assert.equal(r.url(expected), expected, `${input}: redacted twice`);
    }
  });

  test('every other segment is kept byte for byte, malformed escapes and `+` included', () => {
    for (const path of [
      '/users/4711',
      '/files/caf%C3%A9%20menu.pdf',
      '/q/%zz/100%/%E0%A4%A',
      '/tags/a+b/%2F',
      '/cards/4111-1111-1111-1112',
    ]) {
      assert.equal(r.url(path), path, path);
    }
    assert.equal(r.url('/pay/%zz/4111%201111%201111%201111'), `/pay/%zz/${REDACTED}`);
  });
});

describe('event fields: names the collector takes', () => {
  test('a key whose field name would be longer than the collector takes is left out, with what is under it', () => {
    const long = 'k'.repeat(130);
    const out = r.fields({ email: 'a@b.example', [long]: 1, form: { [long]: { x: 1 }, ok: true } });
    assert.deepEqual(out, { email: 'a@b.example', 'form.ok': true });
    const event = parseEvent({ type: 'x_signup_rejected', time: Date.now(), ...out });
    assert.equal(event.ok, true, JSON.stringify(event));
    const edge = r.fields({ [`f.${'k'.repeat(MAX_FIELD_NAME_LENGTH - 2)}`]: 1 });
    assert.equal(Object.keys(edge)[0]?.length, MAX_FIELD_NAME_LENGTH, 'a name of exactly the limit is kept');
  });
});

describe('configured dotted paths', () => {
  test('array indexes are skipped: `customers.email` matches the email of every customer of a list', () => {
    const custom = createRedactor({ keys: ['customers.email', 'order.items.0.note'] });
    for (const path of ['customers.email', 'customers.0.email', 'body.customers.12.email', 'customers[3].email']) {
      assert.equal(custom.isSensitivePath(path), true, path);
    }
    assert.equal(custom.isSensitivePath('order.items.7.note'), true, 'an index in the configured path is skipped too');
    for (const path of ['customers.0.name', 'customers.0', 'orders.0.customer.email', 'email']) {
      assert.equal(custom.isSensitivePath(path), false, path);
    }
  });
});

describe('the memo of key verdicts, under keys an attacker chooses', () => {
  /** A memo whose judge counts how often it judged each key. */
  function counted() {
    const judged = new Map<string, number>();
    const memo = memoByKey((key) => {
      judged.set(key, (judged.get(key) ?? 0) + 1);
      return key.includes('secret');
    });
    return { memo, judged };
  }

  test('the keys in use stay remembered however many new keys are sent', () => {
    const { memo, judged } = counted();
    // A spray of new keys before the app's own key is seen, then more with the app's key in between.
    for (let i = 0; i < 2 * MAX_MEMOISED_KEYS; i++) memo(`junk${i}`);
    for (let i = 0; i < 4 * MAX_MEMOISED_KEYS; i++) {
      memo(`more${i}`);
      if (i % 100 === 0) assert.equal(memo('customerName'), false);
    }
    assert.equal(judged.get('customerName'), 1, 'judged once, then remembered');
  });

  test('what is not in use is forgotten: at most two generations of keys are held', () => {
    const { memo, judged } = counted();
    assert.equal(memo('old-secret'), true);
    for (let i = 0; i < 2 * MAX_MEMOISED_KEYS; i++) memo(`junk${i}`);
    assert.equal(memo('old-secret'), true);
    assert.equal(judged.get('old-secret'), 2, 'judged again once forgotten');
  });

  test("a redactor's verdicts stay right after a spray of keys", () => {
    const sprayed = createRedactor();
    for (let i = 0; i < 3 * MAX_MEMOISED_KEYS; i++) {
      sprayed.isSensitiveKey(`k${i}`);
      sprayed.isSensitivePath(`body.k${i}`);
      sprayed.isSensitiveQueryName(`q${i}`);
    }
    assert.equal(sprayed.isSensitiveKey('password'), true);
    assert.equal(sprayed.isSensitivePath('body.user.apiKey'), true);
    assert.equal(sprayed.isSensitiveQueryName('code'), true);
    assert.equal(sprayed.isSensitiveKey('k1'), false);
    assert.equal(sprayed.query('q1=a&code=abc'), `q1=a&code=${REDACTED}`);
  });
});

describe('key = value pairs in free text, found from their separator', () => {
  /**
   * What a regular expression for the key, tried at every character, finds: the behaviour to keep. (Values that open
   * a bracket are hidden to the bracket that closes them, tested on their own above; the text built below never has
   * one right after a separator.)
   */
  function byPattern(value: string, isSensitive: (key: string, inQuery: boolean) => boolean): string {
    const pair = /([A-Za-z0-9_\-.[\]]{1,64})(["']?[ \t]*(?:=>|[=:])[ \t]*)/g;
    const secret = /(["'])(?:(?!\1)[^\\\r\n]|\\.)*(\1?)|[^&\s;,"']+/y;
    let out = '';
    let copied = 0;
    for (let m = pair.exec(value); m !== null; m = pair.exec(value)) {
      const [, key = '', sep = ''] = m;
      const before = m.index > 0 ? value.charCodeAt(m.index - 1) : 0;
      if (!isSensitive(key, sep === '=' && (before === 63 || before === 38))) continue;
      secret.lastIndex = pair.lastIndex;
      const found = secret.exec(value);
      if (found === null) continue;
      out += value.slice(copied, m.index) + key + sep;
      out += found[1] === undefined ? REDACTED : `${found[1]}${REDACTED}${found[2] ?? ''}`;
      copied = pair.lastIndex = secret.lastIndex;
    }
    return copied === 0 ? value : out + value.slice(copied);
  }

  test('the same pairs as a pattern tried at every character, on text built to have many separators', () => {
    const sensitive = (key: string, inQuery: boolean) =>
      key.endsWith('pw') || key === 'k' || key.length === 64 || (inQuery && key === 'q');
    const pieces = [
      'pw',
      'k',
      'q',
      'a',
      '=',
      ':',
      ' ',
      '\t',
      '"',
      "'",
      '&',
      '?',
      '.',
      'a[',
      ']',
      '>',
      '=>',
      '-',
      ';',
      ',',
      '\\',
      'x'.repeat(70),
    ];
    let seed = 11;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    for (let n = 0; n < 20000; n++) {
      let text = '';
      for (let i = 0; i < 12; i++) text += pieces[Math.floor(random() * pieces.length)];
      assert.equal(redactPairs(text, sensitive), byPattern(text, sensitive), JSON.stringify(text));
    }
  });

  test('a key longer than 64 characters is judged by its last 64', () => {
    const long = `${'x'.repeat(100)}password`;
    assert.equal(r.text(`${long}=hunter2 ok`), `${long}=${REDACTED} ok`);
    assert.equal(r.text(`${'x'.repeat(100)}=hunter2`), `${'x'.repeat(100)}=hunter2`);
  });
});

describe('JWTs in free text', () => {
  const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c';

  test('are found at the start of a word, after a dash too, never inside a word', () => {
    assert.equal(r.text(`token ${jwt} ok`), `token ${REDACTED} ok`);
    assert.equal(r.text(`jwt-${jwt}`), `jwt-${REDACTED}`);
    assert.equal(r.text(`eyJ-x ${jwt}`), `eyJ-x ${REDACTED}`);
    assert.equal(r.text(`eyJ-eyJ-${jwt}`), REDACTED, 'the run from its first start');
    assert.equal(r.text(`eyJ-eyJ-eyJ ${jwt}`), `eyJ-eyJ-eyJ ${REDACTED}`, 'after a run whose starts all fail');
    assert.equal(r.text(`x_${jwt}`), `x_${jwt}`, 'inside a word');
    assert.equal(r.text(`${jwt}.${jwt}`), `${REDACTED}.${REDACTED}`);
  });

  test('the same as a regular expression finds them, on text built to have many starts', () => {
    const pattern = /\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g;
    const pieces = ['eyJ', 'eyJ', 'ab', '-', '_', '.', ' ', '1', 'x', 'abcd', '='];
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    for (let n = 0; n < 3000; n++) {
      let text = '';
      while (text.length < 40) text += pieces[Math.floor(random() * pieces.length)];
      // Free text without what the other patterns look for (`=`, `:`, quotes): only this one applies.
      const plain = text.replace(/=/g, '');
      assert.equal(r.text(plain), plain.replace(pattern, REDACTED), plain);
    }
  });
});

describe('operator objects sent by inspection under a sensitive key', () => {
  test('keep their keys; every string and number in them is hidden, however deep', () => {
    assert.equal(hideOperands('{"$ne":null}'), '{"$ne":null}');
    assert.equal(
      hideOperands('{"$ne":"hunter2","$gt":1234,"$in":["a",{"b":5,"c":true}]}'),
      `{"$ne":"${REDACTED}","$gt":"${REDACTED}","$in":["${REDACTED}",{"b":"${REDACTED}","c":true}]}`,
    );
    assert.equal(
      hideOperands('{"__proto__":{"isAdmin":true,"name":"x"}}'),
      `{"__proto__":{"isAdmin":true,"name":"${REDACTED}"}}`,
    );
    const once = hideOperands('{"$regex":".*"}')!;
    assert.equal(hideOperands(once), once, 'hidden again, unchanged');
  });

  test('anything else is no such object: not JSON, cut, not an object, or without an operator at its top', () => {
    for (const value of ['hunter2', '{"$ne":"hunt', '["$ne"]', '{"a":{"$ne":1}}', '"{}"', '{"$ne":{"a":{…}}}']) {
      assert.equal(hideOperands(value), undefined, value);
    }
    for (const value of ['hunter2', '{"$ne":"hunt', '["$ne"]', '"{}"', '{"$ne":{"a":{…}}}']) {
      assert.equal(
        hideSecretKeys(value, () => true),
        undefined,
        value,
      );
    }
  });
});

describe('JSON objects sent by inspection under a key that is not sensitive', () => {
  const seen: string[] = [];
  const secret = (keys: readonly string[]): boolean => {
    seen.push(keys.join('.'));
    return keys[keys.length - 1] === 'password' || keys.join('.') === '$and.0.card';
  };

  test('hide the value of each key the judge names, whole and however deep; keep everything else', () => {
    seen.length = 0;
    assert.equal(
      hideSecretKeys(
        '{"$or":[{"password":["hunter2"]},{"user":{"password":{"$ne":1}}}],"$and":[{"card":{"n":4},"note":"x"}],"n":5}',
        secret,
      ),
      `{"$or":[{"password":"${REDACTED}"},{"user":{"password":"${REDACTED}"}}],` +
        `"$and":[{"card":"${REDACTED}","note":"x"}],"n":5}`,
    );
    assert.ok(seen.includes('$or.0.password') && seen.includes('$or.1.user.password'), 'judged with array indexes');
    assert.ok(!seen.some((path) => path.startsWith('$or.0.password.')), 'nothing below a hidden value is walked');
  });

  test('a prototype key stays a key of the object written out', () => {
    assert.equal(
      hideSecretKeys('{"__proto__":{"isAdmin":true,"password":"x"}}', secret),
      `{"__proto__":{"isAdmin":true,"password":"${REDACTED}"}}`,
    );
  });
});

test('a long query is redacted only as far as it is kept, with the same result as redacting it whole', () => {
  const big = createRedactor({ maxStringLength: 1_000_000 });
  const kept = createRedactor();
  const pieces = [
    'page=2',
    'password=hunter2',
    'token=eyJhbGciOi.eyJzdWIiOi.c2lnbmF0dXJl',
    'note=paid%20with%204111%201111%201111%201111',
    'q=%E2%80%AEevil',
    'redirect=https%3A%2F%2Fapp%2Fcb%3Fcode%3Dabc',
    'x=a\u0007b',
    'card=4111111111111111',
    'long=' + 'w'.repeat(700),
  ];
  let seed = 7;
  const next = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed;
  };
  for (let round = 0; round < 200; round++) {
    const params: string[] = [];
    const length = 2000 + (next() % 28000);
    for (let chars = 0; chars < length; ) {
      const piece = pieces[next() % pieces.length]!.replace('\\u0007', String.fromCharCode(7));
      params.push(piece);
      chars += piece.length + 1;
    }
    const url = `/search?${params.join('&')}`;
    assert.equal(kept.url(url), big.url(url).slice(0, 8192), `round ${round}`);
  }
});

describe('the prefix of a value, read from a bounded window', () => {
  const keep = 40;
  const window = keep + PREFIX_MARGIN_CHARS;
  /** Filler without digits, quotes or separators: what it holds never changes a match. */
  const filler = (chars: number) => 'w '.repeat(chars).slice(0, chars);

  test('a value that fits the window gives exactly the first characters of its redaction', () => {
    const values = [
      '',
      'plain',
      'paid with 4111 1111 1111 1111, thanks',
      `token=abc&${filler(60)}`,
      `Authorization: Bearer abcdefghijklmnop ${filler(40)}`,
      `${filler(30)} eyJhbGciOi.eyJzdWIiOi.c2lnbmF0dXJl ${filler(20)}`,
      `a\nb\u0000c${filler(90)}`,
      filler(window),
    ];
    for (const value of values) {
      const whole = r.string(value);
      assert.deepEqual(r.prefix(value, keep), { text: whole.slice(0, keep), cut: whole.length > keep }, value);
    }
  });

  test('a longer value whose secrets lie inside the window gives the same as the whole value', () => {
    for (const value of [
      `paid with 4111 1111 1111 1111, thanks ${filler(5000)}`,
      `password=hunter2 ${filler(5000)}`,
      `<token>abc</token> ${filler(5000)}`,
      filler(5000),
    ]) {
      assert.deepEqual(r.prefix(value, keep), { text: r.string(value).slice(0, keep), cut: true }, value.slice(0, 40));
    }
  });

  // Each secret's own characters are Q and Z (a card's are digits), which nothing else here holds. Placed at every
  // offset around the characters kept and the window's end, none of them may come out: a pattern that needs the end
  // of its secret (a JWT's second dot, a URL password's `@`, an XML end tag, a closing quote) does not find it in
  // the window, so what opens the secret hides it.
  const secrets: Record<string, string> = {
    jwt: `eyJhbGciOi.${'QZ'.repeat(100)}.${'QZ'.repeat(20)}`,
    'jwt after a dash': `x-eyJhbGciOi.${'QZ'.repeat(100)}.${'QZ'.repeat(20)}`,
    'URL password': `postgres://app:${'QZ'.repeat(100)}@db.example/prod`,
    'XML element': `<password>${'QZ '.repeat(60)}</password>`,
    'JSON string under a key with a space': `{"api key": "${'QZ '.repeat(60)}"}`,
    'quoted auth-param': `Authorization: Digest username="u", response="${'QZ'.repeat(100)}"`,
    'XML element cut in its end tag': `<password>${'QZ'.repeat(30)}</password>`,
    'XML element holding elements': `<password><v>${'QZ '.repeat(60)}</v></password>`,
    'XML element ended in another case': `<Password>${'QZ '.repeat(60)}</password>`,
    'XML element holding ended elements': `<secret><p>${'QZ'.repeat(10)}</p><p>${'QZ'.repeat(40)}</p></secret>`,
    'GitHub token': `ghp_${'QZ'.repeat(60)}`,
    'AWS access key id': `AKIA${'QZ'.repeat(8)}`,
    'key=value': `password=${'QZ'.repeat(100)}`,
    'quoted key=value': `password="${'QZ '.repeat(60)}"`,
    'triple-quoted key=value': `password: """${'QZ "'.repeat(40)}\n${'QZ '.repeat(20)}"""`,
    'bearer credential': `Bearer ${'QZ'.repeat(100)}`,
    'private key': `-----BEGIN PRIVATE KEY-----\n${'QZ'.repeat(100)}\n-----END PRIVATE KEY-----`,
    option: `--password ${'QZ'.repeat(100)}`,
    'card number': '4111 1111 1111 1111',
    'card number in a long run of digit groups': `${'0000 '.repeat(8)}4111 1111 1111 1111 ${'0000 '.repeat(30)}0000`,
    'card number of one-digit groups in a long run': `${'0 '.repeat(20)}${[...'4111111111111111'].join(' ')} ${'0 '.repeat(60)}0`,
  };

  // Every free-text pattern has its secret placed around the window's end above: a new pattern fails here until it
  // has a case (and, if its secret's end must be seen to find it, a case in openSecretAt).
  const windowCases: Record<(typeof FREE_TEXT_PATTERNS)[number], readonly string[]> = {
    'private key': ['private key'],
    'known token': ['GitHub token', 'AWS access key id'],
    option: ['option'],
    authorization: ['quoted auth-param'],
    'URL password': ['URL password'],
    bearer: ['bearer credential'],
    JWT: ['jwt', 'jwt after a dash'],
    'card number': ['card number', 'card number in a long run of digit groups'],
    'JSON string': ['JSON string under a key with a space'],
    'XML element': ['XML element', 'XML element holding elements', 'XML element ended in another case'],
    'key=value': ['key=value', 'quoted key=value', 'triple-quoted key=value'],
  };
  test('every free-text pattern has its secret placed around the window end', () => {
    for (const pattern of FREE_TEXT_PATTERNS) {
      const cases = windowCases[pattern] ?? [];
      assert.ok(cases.length > 0, `${pattern}: no case`);
      for (const name of cases) assert.ok(name in secrets, `${pattern}: no secret named "${name}"`);
    }
  });

  // A long value hidden early in the window shortens what is kept by its length less the marker's: the window's last
  // characters come into the characters kept, and with them what the window's end cut of a secret whose pattern has
  // a least length. Each secret here goes on past the end of the window at every offset.
  const shortened: Record<string, string> = {
    'AWS access key id': `AKIA${'QZ'.repeat(8)}`,
    'npm token': `npm_${'QZ'.repeat(18)}`,
    'GitHub token': `ghp_${'QZ'.repeat(18)}`,
    'GitHub fine-grained token after a dash': `x-github_pat_${'QZ'.repeat(40)}`,
    'Google API key': `AIza${'QZ'.repeat(17)}Q`,
    'Slack token': `xoxb-${'QZ'.repeat(10)}`,
    'Stripe key': `sk_live_${'QZ'.repeat(10)}`,
    'GitLab token': `glpat-${'QZ'.repeat(10)}`,
    'bearer credential': `Bearer ${'QZ'.repeat(4)}`,
    'basic credential after a non-breaking space': `basic\u00a0${'QZ'.repeat(4)}`,
    'card number in a long run of digit groups': `${'0 '.repeat(4)}${[...'4111111111111111'].join(' ')}${' 0'.repeat(20)}`,
  };
  for (const [name, secret] of Object.entries(shortened)) {
    test(`a secret cut by the window is hidden when a redaction before it shortens the text: ${name}`, () => {
      const leaked = name.startsWith('card number') ? /[1-9]/ : /[QZ]/;
      for (let offset = 1; offset < secret.length; offset++) {
        // `password=xx...x ` up to the secret, which starts `offset` characters before the window's end.
        const hidden = `password=${'x'.repeat(window - offset - 11)} `;
        const tail = secret.startsWith('0') ? ' 0'.repeat(60) : ` ${filler(2000)}`;
        const value = `${hidden} ${secret}${tail}`;
        assert.ok(!leaked.test(r.string(value)), 'the whole value hides it');
        const { text } = r.prefix(value, keep);
        assert.doesNotMatch(text, leaked, `at offset ${offset}: ${text}`);
      }
    });
  }

  test('a card number before a JWT the window cuts is hidden whole, and a bearer credential before the card', () => {
    const value = `${filler(10)} 4111 1111 1111 1111-eyJhbGciOi.${'QZ'.repeat(100)}.${'QZ'.repeat(20)} ${filler(2000)}`;
    assert.ok(!/[1-9]/.test(r.string(value)), 'the whole value hides it');
    assert.doesNotMatch(r.prefix(value, keep).text, /[1-9]/);
    // Left out, the card's run cuts short the bearer credential it ends.
    const bearer = `Bearer QZQZ+4111 1111 1111 1111-eyJhbGciOi.${'QZ'.repeat(100)}.x ${filler(2000)}`;
    assert.ok(!/[QZ]/.test(r.string(bearer)), 'the whole value hides it');
    assert.doesNotMatch(r.prefix(bearer, keep).text, /[QZ]/);
  });

  for (const [name, secret] of Object.entries(secrets)) {
    test(`a secret cut by the window is hidden: ${name}`, () => {
      const leaked = name.startsWith('card number') ? /[1-9]/ : /[QZ]/;
      for (let offset = 0; offset <= window + 2; offset++) {
        const value = `${filler(offset)} ${secret} ${filler(2000)}`;
        assert.ok(!leaked.test(r.string(value)), 'the whole value hides it');
        const { text, cut } = r.prefix(value, keep);
        assert.doesNotMatch(text, leaked, `at offset ${offset}: ${text}`);
        assert.ok(cut && text.length <= keep);
      }
    });
  }
});

// Built to make a backtracking pattern try every start and every split of a URL's user information, or every `eyJ`
// of one base64url run as a JWT. The earlier patterns took 1.3 s on the fourth and 0.7 s on the last at the default
// limit (32 KiB of text) and four times as long for each doubling;
// the limit is raised here so that such a pattern cannot pass. Synchronous code cannot be timed out in place, so they
// run in a child process, with a deadline far above what they take now (milliseconds). The two after the JWT one open
// a bracketed value after every sensitive key, unclosed, for a scan that would restart at each; the two after them
// open XML elements that never close; the last three, private keys that never end, options without a value and
// token prefixes without a token. Then what a prefix's window may end in: quotes and start tags by the thousand.
test('URL passwords, JWTs and bracketed secrets are found in time linear in the text', () => {
  const script = `
    const { createRedactor } = await import(${JSON.stringify(import.meta.resolve('./redact.js'))});
    const r = createRedactor({ maxStringLength: 65536 }); // the patterns see 256 KiB
    const values = [
      's://' + 'a:@'.repeat(88000),
      'a:@'.repeat(88000) + 's://x',
      's://a:@'.repeat(37000),
      'a.'.repeat(128000) + '://' + ':'.repeat(100) + ' @',
      's://' + ':'.repeat(256000) + '@',
      ('s:/' + '/a:'.repeat(10) + '@').repeat(6400),
      'eyJ-'.repeat(64000),
      'password:["'.repeat(23000),
      'x:[password:{'.repeat(19000),
      '<password a="1"'.repeat(16000) + '>',
      '<password>'.repeat(25000),
      Array.from({ length: 14000 }, (_, i) => '<password' + i + '>').join('') + '</x>',
      '-----BEGIN RSA PRIVATE KEY-----x-----END PRIVATE KEY-----'.repeat(4000),
      '--password '.repeat(20000) + 'x',
      'ghp_'.repeat(30000) + 'a'.repeat(40),
      'password="""'.repeat(20000),
      'password: """\\"'.repeat(15000),
    ];
    // What prefix looks for at the end of its window: quotes, escaped or not, and start tags.
    // The last, a window that opens with a quote and names authorization: the search for the quotes before the first one
    // never ended.
    const windows = [
      '\\\\"'.repeat(40000),
      '\\"'.repeat(60000),
      '"password": "'.repeat(15000),
      '<password>'.repeat(25000),
      '"authorization ',
      'password="""'.repeat(20000),
    ];
    const lengths = values.map((v) => r.text(v).length);
    for (const v of windows) lengths.push(r.prefix(v + 'x'.repeat(70000), 60000).text.length);
    console.log(JSON.stringify(lengths));`;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { timeout: 10_000, encoding: 'utf8' });
  assert.equal(run.signal, null, 'redaction did not finish within 10 s');
  assert.equal(JSON.parse(run.stdout).length, 23, run.stderr);
});
