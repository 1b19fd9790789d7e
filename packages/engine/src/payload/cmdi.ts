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
  'id|whoami|uname|hostname|ifconfig|ipconfig|netstat|ps|ls|dir|cat|tac|more|less|head|tail|nl|od|xxd|strings|type|echo|printf|env|printenv|set|pwd|cd|find|locate|grep|egrep|awk|sed|cut|sort|uniq|wc|base64|tee|touch|mkdir|rm|rmdir|mv|cp|chmod|chown|kill|killall|pkill|sleep|ping|ping6|nslookup|dig|host|traceroute|tracert|curl|wget|fetch|lwp-download|tftp|ftp|scp|ssh|telnet|nc|ncat|netcat|socat|bash|sh|zsh|ksh|csh|tcsh|dash|ash|busybox|python|python2|python3|perl|ruby|php|node|lua|java|powershell|pwsh|cmd|cmd\\.exe|command\\.com|net|net1|systeminfo|tasklist|taskkill|reg|wmic|certutil|bitsadmin|mshta|rundll32|regsvr32|cscript|wscript|sudo|su|crontab|nohup|xargs|exec|eval|passwd|useradd|usermod|shutdown|reboot|halt|mail|sendmail|nmap|whois|uptime|w|who|last|getent|ifup|ip|arp|route|iptables|dmesg|lsof|mount|df|du|file|stat|chattr|timeout|time|expr|test|true|false|sh\\.exe|bash\\.exe|ver|vol|systemctl|service|apt|apt-get|yum|dnf|apk|pip|npm|gcc|cc|make|openssl|tar|zip|unzip|gzip|gunzip|dd|ln';
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
const PATH_PREFIX = String.raw`(?:(?:/(?:usr/)?(?:local/)?s?bin/)|(?:[a-z]:\\(?:windows\\)?(?:system32\\)?))?`;
/** Control operator or substitution, then (optionally quoted or pathed) a command word, then its boundary. */
const AFTER_OPERATOR = new RegExp(
  String.raw`(?:^|[;|&\n\r\x60]|\$\(|<\(|>\(|\|\||&&)\s*(?:[({]\s*)?${PATH_PREFIX}(${COMMANDS})(?=$|[\s;|&<>)\x60,}'"]|\.exe\b)([^;|&\n\x60]{0,40})`,
  'gi',
);
/** A command started with its absolute path, anywhere: `/bin/sh -c`, `/usr/bin/id`. */
const ABSOLUTE_COMMAND = new RegExp(String.raw`(?:^|[\s;|&(\x60=:'"])/(?:usr/)?(?:local/)?s?bin/(${COMMANDS})\b`, 'i');
/** Globbed binaries: `/???/c?t`, `/bin/ca*`. */
const GLOBBED = /(?:^|[\s;|&`(])\/[a-z?*]{0,4}[?*][a-z?*]*\/[a-z?*]*[?*]/i;
/** Windows shells and PowerShell cmdlets with their typical arguments. */
const WINDOWS =
  /\b(?:cmd(?:\.exe)?\s+\/[ck]\b|powershell(?:\.exe)?\s+-|invoke-(?:expression|webrequest)|iex\s*\(|start-process|%comspec%|new-object\s+net\.webclient)/i;
/**
 * cmd.exe control flow: `for %a in (...) do cmd`, `for /f "tokens=1" %%g in (...) do`, `if exist x cmd`,
 * `if errorlevel 1 cmd`, `if "%x%"=="y" cmd`: a variable or a test that only batch syntax has.
 */
const BATCH =
  /\bfor\s+(?:\/[dlrf]\s+(?:[^%]{0,60}\s+)?)*%%?[~\w/_\-!]\s+in\s*\(|\bif\s+(?:\/i\s+)?(?:not\s+)?(?:exist\s+\S|errorlevel\s+\d|defined\s+\w|cmdextversion\s+\d|\S+\s*==|%\w*%\s+(?:equ|neq|lss|leq|gtr|geq)\s|"[^"]*"\s+(?:equ|neq|lss|leq|gtr|geq)\s)/i;
/** Server-side includes, which run commands when the value lands in an .shtml page. */
const SSI = /<!--\s*#\s*(?:exec|include|echo|config|printenv)\b/i;
/** Shell expansions that only make sense to a shell: `${IFS}`, `$IFS$9`, `$(...)` / backticks with a command inside. */
const SHELL_EXPANSION = /\$\{?IFS\}?|\$\{[a-z_]+(?::-[^}]*)?\}\s*[a-z/]/i;
/** What follows the command name looks like arguments (or nothing: `;id`). */
const ARGUMENT_LIKE = /^\s*(?:[-/~.$]|\d|[a-z]:\\|\w+\.\w+|[<>|;&]|['"]?\s*$)/i;
/** Arguments that only a command line has: an option, a path, a number, a variable. */
const STRONG_ARGUMENT = /^\s+(?:-{1,2}[a-z]|\/|~|\$|\d|[a-z]:\\)/i;

/** Undo the quoting and expansion tricks a shell ignores. */
export function unshell(text: string): string {
  return text
    .replace(/\$\{?IFS\}?(?:\$\d)?/gi, ' ')
    .replace(/\$@|\$\*|\$\d(?!\d)/g, '')
    .replace(/(\w)["']{2}(?=\w)/g, '$1')
    .replace(/(\w)\\(?=[a-z])/gi, '$1')
    .replace(/(?<=[a-z])["'](?=[a-z])|(?<=\w)["'](?=\w)/gi, '')
    .replace(/\{([a-z/._-]+),/gi, '$1 ');
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
    const candidates = [form];
    const cleaned = unshell(form);
    if (cleaned !== form) candidates.push(cleaned);
    for (const text of candidates) {
      for (const m of text.matchAll(AFTER_OPERATOR)) {
        const name = (m[1] ?? '').toLowerCase();
        const rest = m[2] ?? '';
        const lead = m[0].slice(0, m[0].length - rest.length - name.length);
        const operator = /^[;|&\n\r`$<>]/.test(lead) ? (lead[0] as string) : '';
        const englishLike = ENGLISH_LIKE.has(name);
        let confidence = 0;
        if (operator === '') {
          // The value starts with the command itself: only with a path, or with arguments that look like arguments.
          if (lead.includes('/') || lead.includes('\\') || (!englishLike && STRONG_ARGUMENT.test(rest)))
            confidence = 0.7;
        } else if (operator === '&' && !lead.includes('&&')) {
          if (englishLike ? STRONG_ARGUMENT.test(rest) : ARGUMENT_LIKE.test(rest)) confidence = 0.75;
        } else if (ARGUMENT_LIKE.test(rest) || !englishLike) {
          confidence = 0.9;
        }
        if (confidence > 0) consider(text, m as RegExpExecArray, confidence);
      }
      consider(text, ABSOLUTE_COMMAND.exec(text), 0.85);
      consider(text, GLOBBED.exec(text), 0.8);
      consider(text, WINDOWS.exec(text), 0.85);
      consider(text, SSI.exec(text), 0.9);
      consider(text, BATCH.exec(text), 0.75);
      consider(text, SHELL_EXPANSION.exec(text), 0.8);
    }
  }
  return best;
}
