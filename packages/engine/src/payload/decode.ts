/**
 * Decoding of request values before detection: attackers wrap the same payload in layers of encoding that the
 * application (or a library it calls) peels off, so a detector must see what the application will eventually see.
 *
 * A value is decoded in rounds; one round applies, in order:
 * 1. percent-decoding: `%XX` (bytes read as UTF-8, leniently: overlong forms such as `%c0%ae` decode to the
 *    character they spell, as old decoders did; a byte that is not UTF-8 stands for its Latin-1 character),
 *    `%uXXXX` (IIS), and `+` as a space in query values (first round only);
 * 2. HTML character references: decimal `&#60;`, hex `&#x3c;` (with or without `;`, as browsers accept them) and
 *    the named ones that matter in markup and scripts (`&lt;`, `&quot;`, `&colon;`, `&Tab;`...); an unknown name
 *    stays as it is, so `a&b` and `AT&T` are untouched;
 * 3. JavaScript / JSON escapes: `\uXXXX`, `\u{X}`, `\xXX`.
 * Rounds repeat until the value stops changing, at most {@link MAX_DECODE_ROUNDS} times (double and triple
 * encoding are common in scanners; deeper nesting is not worth the work). Then NUL characters are dropped and, when
 * the value has non-ASCII characters, it is NFKC-normalised (full-width `＜script＞`, circled digits `①②⑦`).
 *
 * Base64 is decoded only when the whole value is base64 (16+ characters of the standard or URL-safe alphabet)
 * and decodes to printable text with some punctuation or spaces: random tokens and binary data decode to
 * non-printable bytes and are skipped, so opaque ids and hashes cost nothing and cause no false positives.
 *
 * Work is bounded: only the first {@link MAX_VALUE_CHARS} characters of a value are looked at, and every step is a
 * single linear pass.
 */

/** Characters of a value that are inspected; the rest is ignored (and attackers padding past it are not seen). */
export const MAX_VALUE_CHARS = 8192;
/** Decoding rounds per value. */
export const MAX_DECODE_ROUNDS = 3;
/** Shortest whole-value base64 that is tried. */
const MIN_BASE64_CHARS = 16;

const NAMED_REFERENCES: Readonly<Record<string, string>> = {
  lt: '<',
  gt: '>',
  amp: '&',
  quot: '"',
  apos: "'",
  nbsp: ' ',
  tab: '\t',
  newline: '\n',
  colon: ':',
  semi: ';',
  sol: '/',
  bsol: '\\',
  lpar: '(',
  rpar: ')',
  lsqb: '[',
  rsqb: ']',
  lbrack: '[',
  rbrack: ']',
  lcub: '{',
  rcub: '}',
  lbrace: '{',
  rbrace: '}',
  equals: '=',
  comma: ',',
  period: '.',
  excl: '!',
  quest: '?',
  num: '#',
  percnt: '%',
  plus: '+',
  grave: '`',
  dollar: '$',
  ast: '*',
  vert: '|',
  verbar: '|',
  lowbar: '_',
  hyphen: '-',
  dash: '-',
};

const HEX_DIGIT = /^[0-9a-fA-F]$/;

function isHex(ch: string | undefined): boolean {
  return ch !== undefined && HEX_DIGIT.test(ch);
}

/** Read a run of bytes as UTF-8, accepting overlong forms; a stray byte is its Latin-1 character. */
function decodeBytesLeniently(bytes: readonly number[]): string {
  let out = '';
  const n = bytes.length;
  const cont = (i: number): boolean => i < n && ((bytes[i] as number) & 0xc0) === 0x80;
  let i = 0;
  while (i < n) {
    const b = bytes[i] as number;
    if (b < 0x80) {
      out += String.fromCharCode(b);
      i++;
    } else if ((b & 0xe0) === 0xc0 && cont(i + 1)) {
      out += String.fromCharCode(((b & 0x1f) << 6) | ((bytes[i + 1] as number) & 0x3f));
      i += 2;
    } else if ((b & 0xf0) === 0xe0 && cont(i + 1) && cont(i + 2)) {
      out += String.fromCharCode(
        ((b & 0x0f) << 12) | (((bytes[i + 1] as number) & 0x3f) << 6) | ((bytes[i + 2] as number) & 0x3f),
      );
      i += 3;
    } else if ((b & 0xf8) === 0xf0 && cont(i + 1) && cont(i + 2) && cont(i + 3)) {
      const cp =
        ((b & 0x07) << 18) |
        (((bytes[i + 1] as number) & 0x3f) << 12) |
        (((bytes[i + 2] as number) & 0x3f) << 6) |
        ((bytes[i + 3] as number) & 0x3f);
      out += cp <= 0x10ffff ? String.fromCodePoint(cp) : String.fromCharCode(b);
      i += cp <= 0x10ffff ? 4 : 1;
    } else {
      out += String.fromCharCode(b);
      i++;
    }
  }
  return out;
}

/**
 * Percent-decode leniently: malformed escapes stay as they are, `%uXXXX` is honoured.
 *
 * @example
 * percentDecode('%2e%2e%2f');          // '../'
 * percentDecode('%c0%ae%c0%ae/');      // '../' (overlong UTF-8)
 * percentDecode('a+b', true);          // 'a b'
 */
export function percentDecode(input: string, plusAsSpace = false): string {
  if (!input.includes('%') && !(plusAsSpace && input.includes('+'))) return input;
  let out = '';
  let bytes: number[] = [];
  const flush = (): void => {
    if (bytes.length > 0) {
      out += decodeBytesLeniently(bytes);
      bytes = [];
    }
  };
  for (let i = 0; i < input.length; i++) {
    const ch = input[i] as string;
    if (ch === '%') {
      if (isHex(input[i + 1]) && isHex(input[i + 2])) {
        bytes.push(Number.parseInt(input.slice(i + 1, i + 3), 16));
        i += 2;
        continue;
      }
      if (
        (input[i + 1] === 'u' || input[i + 1] === 'U') &&
        isHex(input[i + 2]) &&
        isHex(input[i + 3]) &&
        isHex(input[i + 4]) &&
        isHex(input[i + 5])
      ) {
        flush();
        out += String.fromCharCode(Number.parseInt(input.slice(i + 2, i + 6), 16));
        i += 5;
        continue;
      }
    }
    flush();
    out += plusAsSpace && ch === '+' ? ' ' : ch;
  }
  flush();
  return out;
}

const REFERENCE = /&(?:#(\d{1,7})|#[xX]([0-9a-fA-F]{1,6})|([A-Za-z][A-Za-z0-9]{1,31}));?/g;

function codePointOrSelf(cp: number, self: string): string {
  return cp > 0 && cp <= 0x10ffff ? String.fromCodePoint(cp) : self;
}

/**
 * Decode HTML character references: numeric ones and the named ones in a small table.
 *
 * @example
 * decodeHtmlEntities('&lt;img src=x&gt;'); // '<img src=x>'
 * decodeHtmlEntities('&#x6A;avascript');   // 'javascript'
 * decodeHtmlEntities('AT&T');              // 'AT&T'
 */
export function decodeHtmlEntities(input: string): string {
  if (!input.includes('&')) return input;
  return input.replace(REFERENCE, (whole, dec: string | undefined, hex: string | undefined, name?: string) => {
    if (dec !== undefined) return codePointOrSelf(Number.parseInt(dec, 10), whole);
    if (hex !== undefined) return codePointOrSelf(Number.parseInt(hex, 16), whole);
    const replacement = name === undefined ? undefined : NAMED_REFERENCES[name.toLowerCase()];
    return replacement ?? whole;
  });
}

const JS_ESCAPE = /\\(?:u\{([0-9a-fA-F]{1,6})\}|u([0-9a-fA-F]{4})|x([0-9a-fA-F]{2}))/g;

/**
 * Decode JavaScript / JSON string escapes: `\u0041`, `\u{41}`, `\x41`.
 *
 * @example
 * decodeJsEscapes('\\u003cscript\\x3e'); // '<script>'
 */
export function decodeJsEscapes(input: string): string {
  if (!input.includes('\\')) return input;
  return input.replace(JS_ESCAPE, (whole, braced?: string, four?: string, two?: string) => {
    const hex = braced ?? four ?? two;
    return hex === undefined ? whole : codePointOrSelf(Number.parseInt(hex, 16), whole);
  });
}

const BASE64 = /^(?:[A-Za-z0-9+/]+={0,2}|[A-Za-z0-9_-]+={0,2})$/;
const PRINTABLE = /[\t\n\r\x20-\x7e]/g;

/**
 * The text a whole-value base64 string stands for, when it is clearly base64 of printable text; otherwise
 * undefined.
 *
 * @example
 * decodeBase64Text('PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=='); // '<script>alert(1)</script>'
 * decodeBase64Text('3f2504e04f8911d39a0c0305e82c3301');     // undefined (decodes to binary)
 */
export function decodeBase64Text(input: string): string | undefined {
  const value = input.trim();
  if (value.length < MIN_BASE64_CHARS || !BASE64.test(value)) return undefined;
  // Pure letters or pure digits are words and numbers far more often than base64.
  if (/^[A-Za-z]+$/.test(value) || /^[0-9]+$/.test(value)) return undefined;
  const standard = value.replace(/-/g, '+').replace(/_/g, '/').replace(/=+$/, '');
  if (standard.length % 4 === 1) return undefined;
  let text: string;
  try {
    text = atob(standard.padEnd(standard.length + ((4 - (standard.length % 4)) % 4), '='));
  } catch {
    return undefined;
  }
  const printable = text.match(PRINTABLE)?.length ?? 0;
  if (text.length === 0 || printable / text.length < 0.95) return undefined;
  // Text with no separator at all (a decoded word or id) carries no payload structure worth a second look.
  if (!/[\s\p{P}\p{S}]/u.test(text)) return undefined;
  return decodeBytesLeniently(Array.from(text, (c) => c.charCodeAt(0)));
}

/** One decoding round: percent, then HTML references, then JavaScript escapes. */
function decodeRound(input: string, plusAsSpace: boolean): string {
  return decodeJsEscapes(decodeHtmlEntities(percentDecode(input, plusAsSpace)));
}

export interface DecodeOptions {
  /** Treat `+` as a space in the first round (query strings and form bodies). */
  readonly plusAsSpace?: boolean;
}

/**
 * The forms of a value a detector looks at: the value itself (capped), its fully decoded form, and the text of a
 * whole-value base64 payload, without duplicates. The first form is always the capped raw value; a value that is
 * not a string (a JavaScript caller's parsed JSON) has no forms.
 *
 * @example
 * decodeForms('%253Cscript%253E'); // ['%253Cscript%253E', '<script>']
 */
export function decodeForms(value: string, options: DecodeOptions = {}): string[] {
  if (typeof value !== 'string') return [];
  const raw = value.length > MAX_VALUE_CHARS ? value.slice(0, MAX_VALUE_CHARS) : value;
  const forms = [raw];
  let current = raw;
  for (let round = 0; round < MAX_DECODE_ROUNDS; round++) {
    const next = decodeRound(current, round === 0 && options.plusAsSpace === true);
    if (next === current) break;
    current = next;
  }
  current = current.replace(/\0/g, '');
  if (/[^\x00-\x7f]/.test(current)) current = current.normalize('NFKC');
  if (current !== raw) forms.push(current);
  const base64 = decodeBase64Text(raw);
  if (base64 !== undefined && !forms.includes(base64)) forms.push(base64);
  return forms;
}
