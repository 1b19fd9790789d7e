/**
 * OS command injection: a value that ends the argument it was meant to be and starts a shell command.
 *
 * Shape: a shell control operator or substitution (`;`, `|`, `||`, `&&`, `&`, a newline, `` `...` ``, `$(...)`)
 * followed by a command name, optionally with its path (`/bin/`, `/usr/bin/`, `C:\Windows\System32\`). Before
 * matching, the quoting tricks shells ignore are undone: `c''at`, `w"h"o`, `c\at`, `$@`, `${IFS}` and `$IFS$9` as a
 * space, `{cat,/etc/passwd}` brace lists; globbed paths (`/???/c?t`) count as paths. The command names are the
 * programs attackers reach for first (recon, file reading, network, shells, interpreters); a name alone is not
 * enough when it is also an English word (`cat`, `id`, `sleep`), it needs the operator in front or an argument
 * that looks like one (a path, an option, a number).
 */
import { evidenceAt } from './evidence.js';
import type { DetectorInput, PayloadFinding } from './types.js';

const COMMANDS =
  'id|whoami|uname|hostname|ifconfig|ipconfig|netstat|ps|ls|dir|cat|tac|more|less|head|tail|nl|od|xxd|strings|type|echo|printf|env|printenv|set|pwd|cd|find|locate|grep|egrep|awk|sed|cut|sort|uniq|wc|base64|tee|touch|mkdir|rm|rmdir|mv|cp|chmod|chown|kill|killall|pkill|sleep|ping|ping6|nslookup|dig|host|traceroute|tracert|curl|wget|fetch|lwp-download|tftp|ftp|scp|ssh|telnet|nc|ncat|netcat|socat|bash|sh|zsh|ksh|csh|tcsh|dash|ash|busybox|python[23]?(?:\\.\\d+)?|perl|ruby|php|node|lua|java|powershell|pwsh|iwr|irm|iwmi|gwmi|iex|icm|saps|cmd|cmd\\.exe|command\\.com|net|net1|systeminfo|tasklist|taskkill|reg|wmic|certutil|bitsadmin|mshta|rundll32|regsvr32|cscript|wscript|sudo|su|crontab|nohup|xargs|exec|eval|passwd|useradd|usermod|shutdown|reboot|halt|mail|sendmail|nmap|whois|uptime|w|who|last|getent|ifup|ip|arp|route|iptables|dmesg|lsof|mount|df|du|file|stat|chattr|timeout|time|expr|test|true|false|sh\\.exe|bash\\.exe|ver|vol|systemctl|service|apt|apt-get|yum|dnf|apk|pip|npm|gcc|cc|make|openssl|tar|zip|unzip|gzip|gunzip|dd|ln|zcat|xzcat|bzcat|zstdcat|unxz|bsdtar|lastlog|htop|visudo|adduser';
const ENGLISH_LIKE = new Set([
  'id',
  'cat',
  'type',
  'more',
  'less',
  'head',
  'tail',
  'find',
  'sort',
  'set',
  'echo',
  'sleep',
  'time',
  'test',
  'true',
  'false',
  'host',
  'mail',
  'file',
  'last',
  'who',
  'w',
  'cut',
  'touch',
  'kill',
  'make',
  'net',
  'fetch',
  'ver',
  'vol',
  'ln',
  'ip',
  'route',
  'service',
  'stat',
  'cd',
  'dir',
  'ps',
  'mount',
  'uniq',
  'expr',
  'cc',
  'dd',
  'nl',
  'od',
  'tac',
  'tee',
  'su',
  'exec',
  'eval',
  'zip',
  'tar',
  'reg',
  'ftp',
  'ssh',
  'node',
  'java',
  'ruby',
  'php',
  'python',
  'perl',
  'lua',
  'sh',
]);
/** Windows commands: a Windows path in front of any other name (`C:\Windows\System32\ls`) is a path, not a command. */
const WINDOWS_NAMES = new Set([
  'cmd',
  'cmd.exe',
  'command.com',
  'powershell',
  'pwsh',
  'net',
  'net1',
  'systeminfo',
  'tasklist',
  'taskkill',
  'reg',
  'wmic',
  'certutil',
  'bitsadmin',
  'mshta',
  'rundll32',
  'regsvr32',
  'cscript',
  'wscript',
  'ipconfig',
  'netstat',
  'whoami',
  'hostname',
  'ping',
  'tracert',
  'nslookup',
  'dir',
  'type',
  'ver',
  'vol',
]);
/** `\ls` (a leading backslash skips shell aliases), `/usr/bin/`, `bin/`, `C:\Windows\System32\`. */
const PATH_PREFIX = String.raw`(?:\\|/?(?:usr/)?(?:local/)?s?bin/|[a-z]:\\(?:windows\\)?(?:system32\\)?)?`;
/**
 * A line break that starts a match only when no operator comes before it with nothing but spaces between. A line break
 * is a space too, so a match from such an earlier operator reads through this one and on to the same command: starting
 * again at each break of a run (`%0a` repeated) would find nothing more and read the rest of the run each time, work
 * that grows with the square of the run. The look-behind runs only at a line break and stops at the nearest operator.
 */
const LINE_BREAK_AFTER_NON_SPACE = String.raw`[\n\r](?<!(?:^|[;|&\n\r\x60]|[$<>]\()[\s+]*?[\n\r])`;
/**
 * Control operator or substitution, then (optionally quoted or pathed) a command word, its `.exe`, and what follows
 * (the scan resumes right after the command word, so that `cat<<<$(whoami)` still reaches the one inside).
 * `+` counts as a space: it is one in query strings and fragments that reach a shell undecoded.
 */
const AFTER_OPERATOR = new RegExp(
  String.raw`(?:^|[;|&\x60]|${LINE_BREAK_AFTER_NON_SPACE}|\$\(|<\(|>\(|\|\||&&)[\s+]*(?:[({]\s*)?${PATH_PREFIX}(${COMMANDS})(\.exe)?(?=$|[\s+;|&<>)\x60,}'"#])([^;|&\n\x60]{0,40})`,
  'gi',
);
/** A command started with its absolute path, anywhere: `/bin/sh -c`, `/usr/bin/id`. */
const ABSOLUTE_COMMAND = new RegExp(String.raw`(?:^|[\s;|&(\x60=:'"])/(?:usr/)?(?:local/)?s?bin/(${COMMANDS})\b`, 'i');
/** Globbed binaries: `/???/c?t`, `/bin/ca*`, `/usr/bin/wh?ami`. */
const GLOBBED = /(?:^|[\s;|&`(])\/(?:[a-z?*]{0,4}[?*][a-z?*]*\/[a-z?*]*[?*]|(?:usr\/)?(?:local\/)?s?bin\/[\w-]*[?*])/i;
/** Windows shells and PowerShell cmdlets with their typical arguments. */
const WINDOWS =
  /\b(?:cmd(?:\.exe)?\s+\/[ck]\b|powershell(?:\.exe)?\s+-|invoke-(?:expression|webrequest)|iex\s*\(|start-process|%comspec%|new-object\s+net\.webclient)/i;
/**
 * cmd.exe control flow: `for %a in (...) do cmd`, `for /f "tokens=1" %%g in (...) do`, `if exist x cmd`,
 * `if errorlevel 1 cmd`, `if "%x%"=="y" cmd`, `if (2) geq (15) cmd`: a loop variable or a test that only batch syntax
 * has (`equ`, `neq`, `lss`, `leq`, `gtr`, `geq` are cmd.exe's comparison words).
 */
const BATCH =
  /\bfor\s+(?:\/[dlrf]\s+(?:[^%/]{0,60}\s+)?){0,4}%%?[^\s%]{1,24}\s+in\s*\([^)]{0,200}\)\s*do\b|\bif(?:\s*\/i)?\s+(?:not\s+)?(?:exist\s+\S|errorlevel\s+\d|defined\s+\w|cmdextversion\s+\d|(?:"[^"]{0,60}"|\S{1,60})\s*==|(?:"[^"]{0,60}"|\[[^\]]{0,60}\]|\([^)]{0,60}\)|\S{1,60})\s+(?:equ|neq|lss|leq|gtr|geq)\s)/i;
/** Server-side includes, which run commands when the value lands in an .shtml page. */
const SSI = /<!--\s*#\s*(?:exec|include|echo|config|printenv)\b/i;
/** Shell expansions that only make sense to a shell: `${IFS}`, `$IFS$9`, `$(...)` / backticks with a command inside. */
const SHELL_EXPANSION = /\$\{?IFS\}?|\$\{[a-z_]+(?::-[^}]*)?\}\s*[a-z/]/i;
/** A variable run as the command, with arguments: `$SHELL -c "..."`, `${X} -e`, `&&$c $a$b`. */
const VARIABLE_AS_COMMAND =
  /(?:^|[;|&`]|\n(?<!(?:^|[;|&\n`]|\$\()\s*?\n)|\$\()\s*\$\{?[a-z_]\w{0,30}\}?\s+(?:-{1,2}[a-z]|\$\{?[a-z_])/i;
/** An interpreter handed code on its command line: `python3 -c "..."`, `perl -e '...'`, `sh -c '...'`. */
const INLINE_CODE =
  /\b(?:python[23]?(?:\.\d+)?|perl|ruby|php|node|bash|sh|zsh|ksh|dash|pwsh|powershell)(?:\.exe)?\s+-(?:c|e|r|command|encodedcommand)\s+["'$]/i;
/** Code that hands a command line to the OS: `system('id')`, `shell_exec("cat ...")`, `Runtime.exec('...')`. */
const EXEC_CALL = new RegExp(
  String.raw`\b(?:system|exec|shell_exec|passthru|popen|proc_open|pcntl_exec|execsync|spawnsync|spawn|execfile)\s*\(\s*["'\x60]\s*${PATH_PREFIX}(?:${COMMANDS})\b`,
  'i',
);
/** A command line reading a system file: `cat /etc/passwd`, `zstdcat /var/log/x.zst`, `dd if=/proc/self/environ`. */
const READS_SYSTEM_FILE =
  /^\s*['"]?[a-z][\w.+-]{1,24}['"]?(?:\s+--?[\w=][\w=-]*){0,8}\s+(?:if=)?\/(?:etc|proc|sys|root|var\/log|dev\/(?:tcp|udp))\//i;
/**
 * Mail and file-transfer protocol commands after a CR LF (SMTP, POP3, IMAP, FTP injection): the value ends the line
 * a server-side client was writing and starts a protocol command of its own.
 */
const PROTOCOL_COMMAND =
  /\r\n(?<!\r\n\s*?\r\n)\s*(?:(?:mail\s+from|rcpt\s+to)\s*:\s*<|(?:ehlo|helo)\s+[\w.-]+\s*$|(?:data|quit|help|noop|rset|list|stat|capa|logout)(?:\s+\S+)?\s*$|(?:retr|dele)\s+\d+\s*$|top\s+\d+\s+\d+\s*$|auth\s+[a-z0-9-]+(?:\s+\S+)?\s*$|apop\s+\S+\s+[0-9a-f]{32}\s*$|(?:user|pass|stor|cwd)\s+\S+\s*$|[a-z]\d{1,4}\s+(?:login|select|fetch|logout|quit|capability|list)\b)/i;
/** What follows the command name looks like arguments (or nothing: `;id`). */
const ARGUMENT_LIKE = /^[\s+]*(?:[-/~.$#]|\d|[a-z]:(?:[\\/\s'"]|$)|\w+\.\w+|[<>|;&]|['"]?\s*$)/i;
/** Arguments that only a command line has, without the numbers a diagnostics form also takes: an option, a path. */
const OPTION_OR_PATH = /^[\s+]+(?:-{1,2}[a-z]|\/|~|\$|[a-z]:\\)/i;
/** A command chained straight on to another: `whoami;`, `uname|`, `hostname&&`. */
const CHAINED = /^[\s+]*(?:[;|`]|&&)/;
/**
 * The `)` that closes a `$(...)` / `<(...)` substitution right after the command (`$(id)`, `x$(ps)y`): the name is
 * the whole command. Not a JavaScript method call on the result (`$(id).hide()` is jQuery).
 */
const CLOSES_SUBSTITUTION = /^\s*\)(?!\s*\.\s*[a-z_$][\w$]*\s*\()/i;
/** Inside backticks, what makes Markdown inline code a shell command line: operators, variables, system paths. */
const SHELL_IN_CODE_SPAN = /[;|&$<>\\]|\/(?:etc|proc|dev|bin|sbin|usr\/s?bin|tmp|var|root|home)\b/i;
/** Arguments that only a command line has: an option, a path, a number, a variable. */
const STRONG_ARGUMENT = /^[\s+]+(?:-{1,2}[a-z]|\/|~|\$|\d|[a-z]:\\)/i;
/**
 * Brace lists that only a shell would write: an empty element (`{,ip,a}`, `{id,}`) or an option or path among the
 * elements (`{cat,/etc/passwd}`, `{l,-lh}s`); `{id,name}` in a query language is left alone.
 */
const SHELL_BRACE_LIST = /([^\s{}]{0,40})\{([^{}\s,]{0,200}(?:,[^{}\s,]{0,200}){1,64})\}([^\s{}]{0,40})/g;

/** What `unshell` made of a value, and whether it undid a trick that only a shell ignores. */
interface Unshelled {
  readonly text: string;
  /** True when an evasion only a shell would undo was present (`c$@at`, `w\ho`, `{,id}`, `pi$()ng`). */
  readonly evasive: boolean;
}

/** A rewrite that undoes one shell evasion: what to replace, with what, and the one character it cannot do without. */
interface Rewrite {
  readonly re: RegExp;
  readonly replacement: string | ((...groups: string[]) => string);
  readonly needs: string;
  /** Ordinary text never needs this rewrite (an apostrophe in `don't` does not count). */
  readonly evasive: boolean;
}

const REWRITES: readonly Rewrite[] = [
  { re: /\$\{?IFS\}?(?:\$\d)?/gi, replacement: ' ', needs: '$', evasive: true },
  // ANSI-C and locale quoting: `$'whoami'`, `$"id"`.
  {
    re: /\$'([^'\n]{0,80})'|\$"([^"\n]{0,80})"/g,
    replacement: (_m, a, b) => a ?? b ?? '',
    needs: '$',
    evasive: true,
  },
  // Empty substitutions between the letters of a word: `pi$()ng`, `ping`` `, `pi<()ng`.
  { re: /\$\(\s*\)|``|[<>]\(\s*\)/g, replacement: '', needs: '', evasive: true },
  // Positional and special parameters, and unset variables, glued inside a word: `c$@at`, `c$!at`, `una$$me`, `cat$u`.
  { re: /\$[@*!?#$_-]|\$\d(?!\d)/g, replacement: '', needs: '$', evasive: true },
  { re: /(?<=[a-z])\$[a-z_]\w{0,20}(?=[\\/'"+\s,}]|$)/gi, replacement: '', needs: '$', evasive: true },
  // Empty quotes glued to a word: `c''at`, `""p""y""t""h""o""n`.
  { re: /(?<=\w)(?:""|'')|(?:""|'')(?=\w)/g, replacement: '', needs: '', evasive: true },
  { re: /(\w)\\(?=[a-z])/gi, replacement: '$1', needs: '\\', evasive: true },
  { re: /(?<=[a-z])["'](?=[a-z])|(?<=\w)["'](?=\w)/gi, replacement: '', needs: '', evasive: false },
];

function expandBraces(text: string): Unshelled {
  let evasive = false;
  const expanded = text.replace(SHELL_BRACE_LIST, (whole, before: string, list: string, after: string) => {
    const items = list.split(',');
    if (!items.some((item) => item === '' || /^[-/$]/.test(item))) return whole;
    evasive = true;
    return items
      .filter((item) => item !== '')
      .map((item) => `${before}${item}${after}`)
      .join(' ');
  });
  return { text: expanded, evasive };
}

/** Characters every rewrite needs; a value with none of them is returned as it is. */
const TRICK_CHARS = /[$'"\\`{<>]/;

function unshellTricks(text: string): Unshelled {
  if (!TRICK_CHARS.test(text)) return { text, evasive: false };
  let out = text;
  let evasive = false;
  for (const { re, replacement, needs, evasive: marksEvasion } of REWRITES) {
    if (needs !== '' && !out.includes(needs)) continue;
    const next = out.replace(re, replacement as string);
    if (next !== out && marksEvasion) evasive = true;
    out = next;
  }
  const braces = out.includes('{') ? expandBraces(out) : { text: out, evasive: false };
  return { text: braces.text, evasive: evasive || braces.evasive };
}

/**
 * Undo the quoting and expansion tricks a shell ignores.
 *
 * @example
 * unshell("c''at${IFS}/etc/passwd"); // 'cat /etc/passwd'
 */
export function unshell(text: string): string {
  return unshellTricks(text).text;
}

/**
 * Whether the backtick at `at` opens or closes Markdown inline code in prose (`run \`ls -la\` first`), which body
 * fields (comments, descriptions) are full of: the span starts after a space or a bracket and ends before a space
 * or punctuation, there is prose outside it, and it holds no shell operator, variable or system path. A backtick
 * glued to a word (`a\`id\`b`), after an operator or a quote (`x;\`id\``), or unclosed, is a substitution.
 */
function isProseCodeSpan(text: string, backticks: readonly number[], at: number): boolean {
  // Backticks pair up from the start of the value: an even number before `at` makes it an opening one.
  let lo = 0;
  let hi = backticks.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((backticks[mid] as number) < at) lo = mid + 1;
    else hi = mid;
  }
  const open = lo % 2 === 0 ? at : (backticks[lo - 1] as number);
  const close = lo % 2 === 0 ? backticks[lo + 1] : at;
  if (close === undefined) return false;
  const left = text[open - 1];
  const right = text[close + 1];
  if (left !== undefined && !/[\s([*_]/.test(left)) return false;
  if (right !== undefined && !/[\s.,:;!?)\]*_]/.test(right)) return false;
  if (SHELL_IN_CODE_SPAN.test(text.slice(open + 1, close))) return false;
  return /[a-z]{2}/i.test(text.slice(0, open)) || /[a-z]{2}/i.test(text.slice(close + 1));
}

/**
 * Detect OS command injection in one value (all its decoded forms).
 *
 * @example
 * detectCmdi({ forms: ['x; cat /etc/passwd'] }); // { class: 'cmdi', ... }
 * detectCmdi({ forms: ['Tom & Jerry'] });        // undefined
 */
export function detectCmdi(input: DetectorInput): PayloadFinding | undefined {
  let best: PayloadFinding | undefined;
  const consider = (text: string, m: RegExpExecArray | null, confidence: number): void => {
    if (m === null || (best !== undefined && best.confidence >= confidence)) return;
    best = { class: 'cmdi', confidence, evidence: evidenceAt(text, m.index, m[0].length) };
  };
  for (const form of input.forms) {
    if (form.length < 2) continue;
    const candidates: Unshelled[] = [{ text: form, evasive: false }];
    const cleaned = unshellTricks(form);
    if (cleaned.text !== form) candidates.push(cleaned);
    for (const { text, evasive } of candidates) {
      AFTER_OPERATOR.lastIndex = 0;
      let backticks: number[] | undefined;
      for (let m = AFTER_OPERATOR.exec(text); m !== null; m = AFTER_OPERATOR.exec(text)) {
        const name = (m[1] ?? '').toLowerCase();
        const exe = m[2] !== undefined;
        const rest = m[3] ?? '';
        const end = m.index + m[0].length - rest.length;
        AFTER_OPERATOR.lastIndex = end;
        const lead = m[0].slice(0, end - m.index - name.length - (exe ? 4 : 0));
        const operator = /^[;|&\n\r`$<>]/.test(lead) ? (lead[0] as string) : '';
        const englishLike = ENGLISH_LIKE.has(name) && !exe;
        if (/[a-z]:\\/i.test(lead) && !exe && !WINDOWS_NAMES.has(name)) continue;
        if (operator === '`' && input.location === 'body') {
          backticks ??= [...text.matchAll(/`/g)].map((b) => b.index);
          if (isProseCodeSpan(text, backticks, m.index)) continue;
        }
        let confidence = 0;
        if (operator === '') {
          // The value starts with the command itself: only with a path, with arguments that look like arguments, or
          // spelt with a trick that only a shell undoes (`{,id}`, `pi$()ng 127.0.0.1`).
          if (evasive) confidence = 0.8;
          else if (lead.includes('/') || lead.includes('\\')) confidence = 0.7;
          // A bare host or number after a network tool (`ping 127.0.0.1`) is what diagnostics forms take as input.
          else if (!englishLike && (OPTION_OR_PATH.test(rest) || CHAINED.test(text.slice(end, end + 8))))
            confidence = 0.7;
        } else if (operator === '&' && !lead.includes('&&')) {
          if (englishLike ? STRONG_ARGUMENT.test(rest) : ARGUMENT_LIKE.test(rest)) confidence = 0.75;
        } else if (
          ARGUMENT_LIKE.test(rest) ||
          !englishLike ||
          (/^[$<>]/.test(lead) && CLOSES_SUBSTITUTION.test(rest))
        ) {
          confidence = 0.9;
        }
        if (confidence > 0) consider(text, m, confidence);
      }
      // Each pattern needs a character the cheap `includes` checks look for first: most values have none of them.
      const slash = text.includes('/');
      const dollar = text.includes('$');
      if (slash) consider(text, ABSOLUTE_COMMAND.exec(text), 0.85);
      if (slash && (text.includes('?') || text.includes('*'))) consider(text, GLOBBED.exec(text), 0.8);
      consider(text, WINDOWS.exec(text), 0.85);
      if (text.includes('<!--')) consider(text, SSI.exec(text), 0.9);
      if (text.includes('%') || text.includes('=') || /\bif\b/i.test(text)) consider(text, BATCH.exec(text), 0.75);
      if (dollar) {
        consider(text, SHELL_EXPANSION.exec(text), 0.8);
        consider(text, VARIABLE_AS_COMMAND.exec(text), 0.75);
      }
      if (text.includes(' -')) consider(text, INLINE_CODE.exec(text), 0.8);
      if (text.includes('(')) consider(text, EXEC_CALL.exec(text), 0.85);
      if (slash) consider(text, READS_SYSTEM_FILE.exec(text), 0.7);
      if (text.includes('\r\n')) consider(text, PROTOCOL_COMMAND.exec(text), 0.75);
    }
  }
  return best;
}
