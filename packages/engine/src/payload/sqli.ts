/**
 * SQL injection: a value that leaves the literal it was meant to fill (a quoted string, a number) and goes on as
 * SQL, or that carries SQL statements on its own.
 *
 * The value is cut into SQL tokens (strings, numbers, keywords, operators, comments...) the way a permissive SQL
 * lexer would, three times: as if the value sat outside any literal, inside a single-quoted one, and inside a
 * double-quoted one. Then it is judged by its shape, not by its words:
 * - breakout: the literal closes (a quote, or a number followed by `)`) and what follows is SQL grammar (a logical
 *   or comparison operator, a clause keyword, `;`, a comment) with enough SQL after it;
 * - statements anywhere: `UNION [ALL] SELECT`, `; DROP TABLE...`, `SELECT x FROM y`, `(SELECT ...)`;
 * - tautologies and comparisons of literals after `OR` / `AND` (`or 1=1`, `and 'a'='a'`);
 * - calls of functions only databases have (`sleep(`, `pg_sleep(`, `extractvalue(`, `char(..)||`...),
 *   database-only variables (`@@version`) and catalogue names (`information_schema`).
 * Comments inside keywords (`UN/**\/ION`), MySQL executable comments (`/*!50000SELECT*\/`), case and whitespace
 * tricks are undone by the lexer. English text that contains SQL words (`select a plan`, `order by date`) has
 * words where SQL has literals and operators, and does not fire.
 */
import { evidenceAt } from './evidence.js';
import type { DetectorInput, PayloadFinding } from './types.js';

type TokenType =
  | 's' // string literal
  | 'n' // number
  | 'k' // keyword
  | '&' // logical operator: and, or, xor, &&, ||, not
  | 'o' // other operator
  | 'f' // function name (a word followed by "(")
  | 'w' // other word / identifier
  | 'v' // variable: @x, @@version
  | 'c' // comment
  | '(' // open parenthesis
  | ')'
  | ','
  | ';'
  | 'x'; // anything else

interface Token {
  readonly type: TokenType;
  readonly value: string;
  readonly start: number;
  /** For strings: whether the closing quote was found. */
  readonly closed?: boolean;
}

const MAX_TOKENS = 200;

const KEYWORDS = new Set([
  'select',
  'union',
  'insert',
  'update',
  'delete',
  'replace',
  'drop',
  'from',
  'where',
  'having',
  'group',
  'order',
  'by',
  'limit',
  'offset',
  'into',
  'values',
  'table',
  'exec',
  'execute',
  'declare',
  'waitfor',
  'delay',
  'case',
  'when',
  'then',
  'else',
  'end',
  'create',
  'alter',
  'truncate',
  'shutdown',
  'procedure',
  'null',
  'all',
  'distinct',
  'top',
  'join',
  'set',
  'begin',
  'call',
  'grant',
  'outfile',
  'dumpfile',
  'asc',
  'desc',
  'collate',
  'exists',
  'true',
  'false',
  'if',
  'as',
  'on',
  'database',
  'for',
  'returning',
  'with',
]);

const LOGIC_WORDS = new Set(['and', 'or', 'xor', 'not']);
const OPERATOR_WORDS = new Set(['like', 'rlike', 'regexp', 'is', 'in', 'between', 'div', 'mod', 'sounds', 'glob']);
const COMPARISONS = new Set([
  '=',
  '==',
  '<',
  '>',
  '<=',
  '>=',
  '<>',
  '!=',
  '<=>',
  'like',
  'rlike',
  'regexp',
  'is',
  'in',
  'between',
  'sounds',
  'glob',
]);

/** Functions and procedures whose call is SQL wherever it appears: no ordinary text has them. */
const SQL_ONLY_FUNCTIONS = new Set([
  'sleep',
  'benchmark',
  'pg_sleep',
  'randomblob',
  'extractvalue',
  'updatexml',
  'load_file',
  'group_concat',
  'concat_ws',
  'substring_index',
  'make_set',
  'name_const',
  'gtid_subset',
  'ctxsys.drithsx.sn',
  'dbms_pipe.receive_message',
  'dbms_lock.sleep',
  'utl_inaddr.get_host_address',
  'utl_http.request',
  'regexp_substring',
  'is_srvrolemember',
  'openrowset',
  'opendatasource',
  'xp_cmdshell',
  'sp_executesql',
  'pg_read_file',
  'lo_import',
  'sqlite_version',
  'load_extension',
  'xmltype',
]);

/**
 * Functions and procedures only a database has: a call of one of them in a parameter is SQL. Beyond
 * {@link SQL_ONLY_FUNCTIONS} these are also common words, so they count only in SQL context.
 */
const SQL_FUNCTIONS = new Set([
  ...SQL_ONLY_FUNCTIONS,
  'elt',
  'ascii',
  'ord',
  'char',
  'chr',
  'nchar',
  'unhex',
  'hex',
  'mid',
  'substr',
  'substring',
  'version',
  'database',
  'user',
  'current_user',
  'session_user',
  'system_user',
  'schema',
  'count',
  'concat',
  'cast',
  'convert',
  'iif',
  'ifnull',
  'nullif',
  'coalesce',
  'isnull',
  'length',
  'len',
  'rand',
  'floor',
  'exp',
  'row',
  'json_keys',
  'polygon',
  'multipoint',
  'geometrycollection',
  'linestring',
  'generate_series',
  'db_name',
  'object_id',
  'sp_password',
  'waitfor',
  'bin',
  'instr',
  'locate',
  'position',
  'lower',
  'upper',
  'trim',
  'md5',
  'sha1',
  'left',
  'right',
  'if',
]);

/** Names that only database catalogues and system variables carry. */
const CATALOGUE =
  /\b(?:information_schema|mysql\.(?:user|db)|pg_(?:catalog|shadow|user|tables|database)|sys(?:objects|columns|users|databases|ibm)|sqlite_master|all_tables|user_tables|master\.\.|msysobjects|dual)\b/;

const STATEMENT_AFTER: Readonly<Record<string, (next: Token | undefined, after: Token | undefined) => boolean>> = {
  select: (n) => n !== undefined && n.type !== 'w' && n.type !== '&',
  insert: (n) => n?.value === 'into',
  update: (n, a) => n?.type === 'w' && a?.value === 'set',
  delete: (n) => n?.value === 'from',
  replace: (n) => n?.value === 'into',
  drop: (n) =>
    n !== undefined && /^(?:table|database|schema|procedure|function|view|index|user|trigger)$/.test(n.value),
  create: (n) =>
    n !== undefined && /^(?:table|database|schema|procedure|function|view|index|user|trigger|login)$/.test(n.value),
  alter: (n) => n !== undefined && /^(?:table|database|user|login|procedure)$/.test(n.value),
  truncate: (n) => n?.value === 'table' || n?.type === 'w',
  exec: (n) =>
    n !== undefined &&
    (n.type === 'f' || n.type === 'v' || n.type === '(' || /^(?:xp_|sp_|master\.|sys\.)/.test(n.value)),
  execute: (n) =>
    n !== undefined &&
    (n.type === 'f' || n.type === 'v' || n.type === '(' || /^(?:xp_|sp_|master\.|sys\.|immediate$)/.test(n.value)),
  declare: (n) => n?.type === 'v',
  waitfor: (n) => n?.value === 'delay' || n?.value === 'time',
  shutdown: (n) => n === undefined || n.type === 'c' || n.type === ';' || n.value === 'with',
  set: (n) => n?.type === 'v',
  call: (n) => n?.type === 'f',
  begin: (n) => n !== undefined && n.type !== 'w',
  union: (n) => n !== undefined && (n.value === 'select' || n.value === 'all' || n.value === 'distinct'),
};

const WORD_START = /[a-z_$\u0080-\uffff]/;
const WORD_CHAR = /[a-z0-9_$.\u0080-\uffff]/;
const SPACE = /[\s\u000b\u00a0]/;
const OPERATORS = ['<=>', '||', '&&', '<=', '>=', '<>', '!=', '==', ':=', '<<', '>>', '::', '!<', '!>'];

/** Cut `text` (lower case) into SQL tokens, starting inside a literal opened by `quote` when given. */
function tokenize(text: string, quote?: '"' | "'"): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const n = text.length;
  let inExecutableComment = false;

  const readString = (q: string, from: number): Token => {
    let j = from;
    while (j < n) {
      const ch = text[j];
      if (ch === '\\') {
        j += 2;
        continue;
      }
      if (ch === q) {
        if (text[j + 1] === q) {
          j += 2;
          continue;
        }
        return { type: 's', value: text.slice(from, j), start: from, closed: true };
      }
      j++;
    }
    return { type: 's', value: text.slice(from), start: from, closed: false };
  };

  if (quote !== undefined) {
    const first = readString(quote, 0);
    tokens.push(first);
    if (!first.closed) return tokens;
    i = first.start + first.value.length + 1;
  }

  while (i < n && tokens.length < MAX_TOKENS) {
    const ch = text[i] as string;
    if (SPACE.test(ch)) {
      i++;
      continue;
    }
    const two = text.slice(i, i + 2);
    if (two === '--' || ch === '#') {
      let end = text.indexOf('\n', i);
      if (end < 0) end = n;
      tokens.push({ type: 'c', value: text.slice(i, end), start: i });
      i = end;
      continue;
    }
    if (two === '/*') {
      if (text[i + 2] === '!') {
        // MySQL executes the inside of `/*! ... */`: read it as code.
        i += 3;
        while (i < n && /[0-9]/.test(text[i] as string)) i++;
        inExecutableComment = true;
        continue;
      }
      let end = text.indexOf('*/', i + 2);
      end = end < 0 ? n : end + 2;
      tokens.push({ type: 'c', value: text.slice(i, end), start: i });
      i = end;
      continue;
    }
    if (two === '*/' && inExecutableComment) {
      inExecutableComment = false;
      i += 2;
      continue;
    }
    if (ch === "'" || ch === '"') {
      const token = readString(ch, i + 1);
      tokens.push({ ...token, start: i });
      i = token.closed ? token.start + token.value.length + 1 : n;
      continue;
    }
    if (ch === '`') {
      const end = text.indexOf('`', i + 1);
      const stop = end < 0 ? n : end + 1;
      tokens.push({ type: 'w', value: text.slice(i, stop), start: i });
      i = stop;
      continue;
    }
    if (/[0-9]/.test(ch) || (ch === '.' && /[0-9]/.test(text[i + 1] ?? ''))) {
      const m = /^(?:0x[0-9a-f]*|0b[01]+|[0-9]*\.?[0-9]+(?:e[+-]?[0-9]+)?\.?)/.exec(text.slice(i, i + 64));
      const len = m?.[0].length || 1;
      tokens.push({ type: 'n', value: text.slice(i, i + len), start: i });
      i += len;
      continue;
    }
    if (ch === '@') {
      const m = /^@@?[a-z0-9_$.]*/.exec(text.slice(i, i + 64));
      const len = m?.[0].length ?? 1;
      tokens.push({ type: 'v', value: text.slice(i, i + len), start: i });
      i += len;
      continue;
    }
    if (WORD_START.test(ch)) {
      let j = i + 1;
      while (j < n && WORD_CHAR.test(text[j] as string)) j++;
      while (j > i + 1 && text[j - 1] === '.') j--;
      const word = text.slice(i, j);
      tokens.push({ type: classifyWord(word, text, j), value: word, start: i });
      i = j;
      continue;
    }
    if (ch === '(' || ch === ')' || ch === ',' || ch === ';') {
      tokens.push({ type: ch, value: ch, start: i });
      i++;
      continue;
    }
    const op = OPERATORS.find((o) => text.startsWith(o, i));
    if (op !== undefined) {
      tokens.push({ type: op === '||' || op === '&&' ? '&' : 'o', value: op, start: i });
      i += op.length;
      continue;
    }
    if ('=<>+-*/%^|&~!'.includes(ch)) {
      tokens.push({ type: 'o', value: ch, start: i });
      i++;
      continue;
    }
    tokens.push({ type: 'x', value: ch, start: i });
    i++;
  }
  return mergeSplitKeywords(tokens);
}

function classifyWord(word: string, text: string, end: number): TokenType {
  if (LOGIC_WORDS.has(word)) return '&';
  if (OPERATOR_WORDS.has(word)) return 'o';
  if (KEYWORDS.has(word)) return 'k';
  let j = end;
  while (j < text.length && SPACE.test(text[j] as string)) j++;
  if (text.startsWith('/*', j)) {
    const close = text.indexOf('*/', j);
    if (close > 0) {
      j = close + 2;
      while (j < text.length && SPACE.test(text[j] as string)) j++;
    }
  }
  return text[j] === '(' ? 'f' : 'w';
}

/** `UN/**\/ION` lexes as `un`, a comment, `ion`: join such pieces back into the keyword they spell. */
function mergeSplitKeywords(tokens: Token[]): Token[] {
  const out: Token[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const a = tokens[i] as Token;
    const c = tokens[i + 1];
    const b = tokens[i + 2];
    if (c?.type === 'c' && c.value.startsWith('/*') && b !== undefined && /^[a-z_]+$/.test(a.value + b.value)) {
      const joined = a.value + b.value;
      if (KEYWORDS.has(joined) || LOGIC_WORDS.has(joined) || SQL_FUNCTIONS.has(joined)) {
        out.push({
          type: LOGIC_WORDS.has(joined) ? '&' : KEYWORDS.has(joined) ? 'k' : b.type,
          value: joined,
          start: a.start,
        });
        i += 2;
        continue;
      }
    }
    out.push(a);
  }
  return out;
}

const isOperand = (t: Token | undefined): boolean =>
  t !== undefined && (t.type === 's' || t.type === 'n' || t.type === 'v' || t.type === 'f' || t.type === '(');
const isSqlFunction = (t: Token | undefined): boolean =>
  t !== undefined && t.type === 'f' && (SQL_FUNCTIONS.has(t.value) || SQL_FUNCTIONS.has(lastSegment(t.value)));
const lastSegment = (name: string): string => name.slice(name.lastIndexOf('.') + 1);
const isComparison = (t: Token | undefined): boolean => t !== undefined && COMPARISONS.has(t.value);
const CLAUSE_STARTERS = new Set([
  'union',
  'order',
  'group',
  'having',
  'limit',
  'procedure',
  'into',
  'where',
  'from',
  'as',
]);

interface Hit {
  readonly at: number;
  readonly length: number;
  readonly confidence: number;
}

/** A statement (or UNION) starts at `tokens[i]`. */
function statementAt(tokens: readonly Token[], i: number): boolean {
  const t = tokens[i];
  if (t === undefined || (t.type !== 'k' && t.type !== 'w')) return false;
  const check = STATEMENT_AFTER[t.value];
  if (check === undefined) return false;
  let j = i + 1;
  while (tokens[j]?.type === 'c') j++;
  let k = j + 1;
  while (tokens[k]?.type === 'c') k++;
  return check(tokens[j], tokens[k]);
}

/** SQL grammar after position `i` (the first token after a closed literal): how much of it there is. */
function sqlTailScore(tokens: readonly Token[], i: number): number {
  const first = tokens[i];
  if (first === undefined) return 0;
  let score = 0;
  for (let j = i; j < tokens.length && j < i + 24; j++) {
    const t = tokens[j] as Token;
    switch (t.type) {
      case 'w':
      case 'x':
        break;
      case 'f':
        score += isSqlFunction(t) ? 3 : 1;
        break;
      case 'k':
        score += t.value === 'select' || t.value === 'union' ? 3 : 1;
        break;
      case 'c':
        score += j === tokens.length - 1 ? 2 : 1;
        break;
      case 'o':
        score += isComparison(t) ? 2 : 1;
        break;
      default:
        score += 1;
    }
  }
  return score;
}

/** A comparison of two operands within `span` tokens from `i`: `1=1`, `'a'<>'b'`, `x like y`. */
function comparisonNear(tokens: readonly Token[], i: number, span: number): boolean {
  for (let j = i + 1; j < tokens.length && j < i + span; j++) {
    const t = tokens[j] as Token;
    if (!isComparison(t)) continue;
    const left = tokens[j - 1];
    const right = tokens[j + 1];
    const leftOk = left !== undefined && /^[snvfw)]$/.test(left.type);
    const rightOk =
      right !== undefined &&
      (/^[snvfw(]$/.test(right.type) ||
        right.value === 'null' ||
        right.value === 'true' ||
        (right.type === 'o' && tokens[j + 2]?.type === '('));
    if (leftOk && rightOk) return true;
  }
  return false;
}

/** Grammar that only SQL has, within a few tokens of `i`: a comparison, a database function, a statement keyword. */
function sqlEvidenceNear(tokens: readonly Token[], i: number, span = 6): boolean {
  if (comparisonNear(tokens, i, span)) return true;
  for (let j = i; j < tokens.length && j < i + span; j++) {
    const t = tokens[j] as Token;
    if (isSqlFunction(t) || t.type === 'v') return true;
    if (t.type === 'k' && /^(?:select|union|null|exists|case|true|false|waitfor)$/.test(t.value)) return true;
    if (t.type === 'c' && j === tokens.length - 1) return true;
  }
  return false;
}

/** Keywords that end a select list and start the next clause. */
const SELECT_LIST_END = new Set(['from', 'into', 'union', 'where', 'limit', 'order', 'group', 'having', 'procedure']);

/**
 * After `select` at `tokens[i]`: a select list (`*`, `1,2`, `count(*) c`, `@@version`, `[name]`) that ends the way a
 * SQL one does, with a clause (`from`...), a closing parenthesis, `;`, a comment or the end of the value. English
 * after "select" (`Select **all** that apply`, `Select 2 items to compare`, `Select: one`) has runs of words where
 * SQL allows one alias per column, prose punctuation (`:`, `!`, `?`), or ends on a word.
 */
function selectListAt(tokens: readonly Token[], i: number): boolean {
  let depth = 0;
  let words = 0;
  for (let j = i + 1; j < tokens.length && j <= i + 48; j++) {
    const t = tokens[j] as Token;
    if (t.type === '(') depth++;
    else if (t.type === ')') {
      if (depth === 0) return true;
      depth--;
    }
    if (depth > 0 || t.type === '(' || t.type === ')') {
      words = 0;
      continue;
    }
    if (t.type === 'k' && SELECT_LIST_END.has(t.value)) return true;
    // Ending on a word after an operand is an alias with nothing after it (`Select 1 item`), not a statement.
    if (t.type === ';' || t.type === 'c') return !(tokens[j - 1]?.type === 'w' && tokens[j - 2]?.type !== ',');
    if (t.type === 'w') {
      words++;
      if (words >= 2) return false;
      continue;
    }
    words = 0;
    if (t.type === 'x' && /^[:!?]$/.test(t.value)) return false;
    if (t.value === '*' && tokens[j + 1]?.value === '*') return false;
  }
  const lastIndex = Math.min(tokens.length - 1, i + 48);
  // Cut off inside a parenthesis (`(select ord(left`) or after a long list: no English reads like that.
  if (lastIndex < tokens.length - 1 || depth > 0) return true;
  const last = tokens[lastIndex];
  return !(last?.type === 'w' && tokens[lastIndex - 1]?.type !== ',');
}

/** A comment that ends the value and says (almost) nothing: `--`, `#`, `-- x`, `/*`. */
function trailingComment(tokens: readonly Token[], j: number): boolean {
  const t = tokens[j];
  if (t?.type !== 'c' || j !== tokens.length - 1) return false;
  return /^(?:--|#|\/\*)[-#\s]*[a-z0-9]{0,8}\s*(?:\*\/)?$/.test(t.value);
}

/**
 * After a literal closed just before `tokens[i]`, does SQL go on? `quoted` says the literal was a string, where
 * string concatenation (`'+sleep(5)+'`) and bare comments (`admin'--`) are breakouts too.
 */
function breakoutAt(tokens: readonly Token[], i: number, quoted: boolean): boolean {
  let j = i;
  while (tokens[j]?.type === ')') j++;
  const t = tokens[j];
  if (t === undefined) return false;
  if (t.type === 'c') return trailingComment(tokens, j) || sqlTailScore(tokens, j + 1) >= 4;
  if (t.type === ';' || t.type === ',' || t.type === '(') {
    // `'; drop table x`, `';iif(1=1,1,1/0)`, `',(select ...)`, `" (select ...)`
    const next = tokens[j + 1];
    if (t.type === ';' && (next?.type === 'c' || statementAt(tokens, j + 1))) return true;
    const inner = next?.type === '(' ? tokens[j + 2] : next;
    if (t.type === '(') return next?.value === 'select' || (next?.type === '(' && inner?.value === 'select');
    return isSqlFunction(next) || inner?.value === 'select';
  }
  if (t.type === '&') {
    if (tokens[j + 1] === undefined) return false;
    return sqlEvidenceNear(tokens, j + 1) && sqlTailScore(tokens, j) >= 4;
  }
  if (t.type === 'o') {
    if (isComparison(t) && quoted) {
      // `'=sleep(5)`, `') rlike (select ...)`, `' in boolean mode) or 1=1`: SQL must go on past the comparison.
      const right = tokens[j + 1];
      return (
        (isOperand(right) || right?.type === 'w') && sqlEvidenceNear(tokens, j + 1) && sqlTailScore(tokens, j) >= 4
      );
    }
    if (t.value === '+' || t.value === '||' || t.value === '-' || t.value === '*' || t.value === '/') {
      const next = tokens[j + 1];
      return (
        isSqlFunction(next) || next?.value === 'select' || (next?.type === '(' && tokens[j + 2]?.value === 'select')
      );
    }
    return false;
  }
  if (t.type === 'k' && CLAUSE_STARTERS.has(t.value)) {
    if (t.value === 'union') return statementAt(tokens, j);
    if (t.value === 'order' || t.value === 'group')
      return tokens[j + 1]?.value === 'by' && sqlTailScore(tokens, j) >= 4;
    return sqlEvidenceNear(tokens, j + 1) && sqlTailScore(tokens, j) >= 4;
  }
  return false;
}

const INEQUALITIES = new Set(['<', '>', '<=', '>=']);

/**
 * `5 > 3 and 2 < 4`: numbers compared on both sides of the logical operator at `tokens[i]`, and nothing else in
 * the value. Arithmetic homework and filters read so; an injection closes a literal before `and` (`1 and 2>1`,
 * `' or 3>2--`) and its tautology leans on `=`, which keeps firing.
 */
function inequalitiesOfNumbers(tokens: readonly Token[], i: number): boolean {
  if (i !== 3 || tokens.length !== 7) return false;
  const [l, lop, r] = tokens;
  const rop = tokens[i + 2];
  if (l?.type !== 'n' || r?.type !== 'n' || tokens[i + 1]?.type !== 'n' || tokens[i + 3]?.type !== 'n') return false;
  return INEQUALITIES.has(lop?.value ?? '') && INEQUALITIES.has(rop?.value ?? '');
}

/** Findings that do not depend on where the value sits. */
function anywhere(tokens: readonly Token[], text: string): Hit | undefined {
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] as Token;
    if (t.value === 'union' && statementAt(tokens, i)) return { at: t.start, length: 12, confidence: 0.95 };
    if (t.type === ';' && statementAt(tokens, i + 1)) return { at: t.start, length: 16, confidence: 0.9 };
    if (t.value === 'waitfor' && /^(?:delay|time)$/.test(tokens[i + 1]?.value ?? '') && tokens[i + 2]?.type === 's') {
      return { at: t.start, length: 24, confidence: 0.9 };
    }
    const before = tokens[i - 1]?.type;
    if (t.value === 'select' && (i === 0 || before === '(' || before === ';' || before === 'n' || before === 'c')) {
      const next = tokens[i + 1];
      const rest = tokens.length - i - 1;
      if (next?.type === 'w') {
        // `select name from users where id=1`: only a statement with a real clause after the table counts.
        if (/\bfrom\s+[\w.`[\]]+\s*(?:where\s+[\w.`]+\s*(?:=|<|>|!=|like\b|in\b)|limit\s+\d|;|--|#|\))/.test(text)) {
          return { at: t.start, length: 24, confidence: 0.8 };
        }
      } else if (
        statementAt(tokens, i) &&
        (rest >= 2 || before === '(') &&
        (before !== 'n' || rest >= 3) &&
        selectListAt(tokens, i)
      ) {
        return { at: t.start, length: 24, confidence: 0.85 };
      }
    }
    if (t.type === 'f' && isSqlFunction(t) && SQL_ONLY_FUNCTIONS.has(t.value)) {
      return { at: t.start, length: t.value.length + 4, confidence: 0.85 };
    }
    if (t.type === 'v' && t.value.startsWith('@@') && t.value.length > 3)
      return { at: t.start, length: 12, confidence: 0.8 };
    if (t.type === '&' && t.value !== 'not') {
      // A comparison of literals after a logical operator: `or 1=1`, `and 'a'='a'`, `|| 2>1`.
      const a = tokens[i + 1];
      const op = tokens[i + 2];
      const b = tokens[i + 3];
      if (
        a !== undefined &&
        (a.type === 'n' || a.type === 's') &&
        isComparison(op) &&
        b !== undefined &&
        (b.type === 'n' || b.type === 's' || b.type === 'f' || b.type === '(') &&
        !inequalitiesOfNumbers(tokens, i)
      ) {
        return { at: t.start, length: 16, confidence: 0.8 };
      }
      if (a?.type === 'f' && isSqlFunction(a) && i > 0) return { at: t.start, length: 16, confidence: 0.75 };
      if (a?.type === '(' && tokens[i + 2]?.value === 'select') return { at: t.start, length: 16, confidence: 0.85 };
    }
  }
  const catalogue = CATALOGUE.exec(text);
  if (catalogue !== null && tokens.some((t) => t.type === 'k' || t.type === 'f')) {
    return { at: catalogue.index, length: catalogue[0].length, confidence: 0.8 };
  }
  return undefined;
}

function judge(text: string): Hit | undefined {
  const plain = tokenize(text);
  const found = anywhere(plain, text);
  if (found !== undefined) return found;
  // Numeric context: the value starts with a number and goes on as SQL (`1 or 1=1`, `-1) union select`).
  const firstIndex = plain[0]?.type === 'o' && (plain[0].value === '-' || plain[0].value === '+') ? 1 : 0;
  const first = plain[firstIndex];
  if (first?.type === 'n' && breakoutAt(plain, firstIndex + 1, false)) {
    return { at: first.start, length: 24, confidence: 0.85 };
  }
  if (first?.type === ')' && breakoutAt(plain, firstIndex, false)) return { at: 0, length: 24, confidence: 0.75 };
  for (const quote of ["'", '"'] as const) {
    if (!text.includes(quote)) continue;
    const quoted = tokenize(text, quote);
    const opener = quoted[0];
    if (opener === undefined || opener.closed !== true) continue;
    const inside = anywhere(quoted, text);
    if (inside !== undefined) return inside;
    // A bare trailing comment only counts after a short, single-token literal (`admin'--`), not after a phrase.
    if (quoted[1]?.type === 'c' && trailingComment(quoted, 1) && /\s/.test(opener.value.trim())) continue;
    if (breakoutAt(quoted, 1, true)) return { at: opener.value.length, length: 24, confidence: 0.9 };
  }
  return undefined;
}

/**
 * Detect SQL injection in one value (all its decoded forms).
 *
 * @example
 * detectSqli({ forms: ["1' OR '1'='1"] });   // { class: 'sqli', ... }
 * detectSqli({ forms: ["O'Brien"] });        // undefined
 */
export function detectSqli(input: DetectorInput): PayloadFinding | undefined {
  let best: { hit: Hit; text: string } | undefined;
  for (const form of input.forms) {
    if (form.length < 2) continue;
    const text = form.toLowerCase();
    const hit = judge(text);
    if (hit !== undefined && (best === undefined || hit.confidence > best.hit.confidence)) best = { hit, text: form };
  }
  if (best === undefined) return undefined;
  return {
    class: 'sqli',
    confidence: best.hit.confidence,
    evidence: evidenceAt(best.text, best.hit.at, best.hit.length),
  };
}
