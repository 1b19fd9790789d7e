/**
 * Path traversal and local file inclusion: a value that climbs out of a directory (`../`, `..\`, with the dots or
 * slashes encoded in any of the ways decode.ts undoes, or spelt `0x2e` / `0x2f` / `0x5c`), or names a file that only
 * the operating system or the server's own configuration has (`/etc/passwd`, `c:\windows\win.ini`, `WEB-INF/web.xml`,
 * `.ssh/id_rsa`), or asks a language runtime for a local stream (`file://`, `php://filter`, `phar://`...).
 *
 * `..` alone is no traversal: it must be a whole path segment (`/docs/../x`, `..\x`, a value that is just `..`), so
 * version ranges (`1.2..1.4`), ellipses (`wait...`) and sentences are left alone.
 */
import { evidenceAt } from './evidence.js';
import type { DetectorInput, PayloadFinding } from './types.js';

/**
 * `..` as a path segment, followed by a separator (or at the end after one). Dots may be doubled-up (`....//`).
 * Tomcat and Jetty drop a `;parameter` from each segment before resolving dots, so `..;/` and `..;jsessionid=x/`
 * climb too (the classic way past a proxy that only blocks `/manager`).
 */
const DOT_SEGMENT = /(?:^|[/\\=:;,|"'`(\s])(?:\.{2}(?:[/\\]|$)|\.{3,}[/\\]|\.{2};[^/\\?#\s]{0,40}[/\\])/;
/** A `..;` segment: only servlet containers read it, and only as a climb, never in a relative link. */
const DOT_PARAMETER_SEGMENT = /(?:^|[/\\])\.{2};[^/\\?#\s]{0,40}[/\\]/;
/**
 * One climb: a run of dots (with any `;parameter`) and a separator. Dot runs are matched from their first dot only
 * (`(?<!\.)`), so a long run of dots costs one pass, not one per dot.
 */
const CLIMB = /(?<!\.)\.{2,}(?:;[^/\\?#\s]{0,40})?[/\\]/g;
/** Obfuscated segments left when a scanner spells separators as `0x2f` or strips them. */
const HEX_SPELLED = /(?:0x2e){2}|\.\.0x(?:2f|5c)|(?<!\.)\.{6,}(?:[/\\]|etc|win|boot|\{)/i;
/** Files and folders that no ordinary parameter names. */
const SENSITIVE =
  /(?:^|[/\\\s=:"'`])(?:etc[/\\]+(?:passwd|shadow|group|hosts|issue|motd|sudoers|crontab|fstab|hostname|resolv\.conf|security|ssh|mysql|apache2?|httpd|nginx|subuid|subgid|gshadow|master\.passwd|profile|environment|os-release)|proc[/\\]+(?:self|version|cpuinfo|meminfo|mounts|net|\d+)[/\\]?|sys[/\\]+(?:class|kernel|devices|power|firmware)|var[/\\]+(?:log|lib|run|spool|mail)[/\\]|(?:windows|winnt)[/\\]+(?:win\.ini|system\.ini|repair|debug|panther|system32[/\\]+(?:config|drivers))|(?:boot|win|system)\.ini\b|inetpub[/\\]|global\.asa\b|web-inf[/\\]|meta-inf[/\\]|\.ssh[/\\]|(?:id_rsa|id_dsa|id_ecdsa|id_ed25519|authorized_keys|known_hosts)\b|\.(?:htaccess|htpasswd|bash_history|zsh_history|history|mysql_history|psql_history|git[/\\]|svn[/\\]|env\b|aws[/\\]|docker[/\\]|kube[/\\])|(?:httpd|apache2?|nginx|php|my)\.(?:conf|ini)\b|web\.config\b|wp-config\.php\b|tmp[/\\]+(?:sess_|curl))/i;
const STREAM_WRAPPER =
  /\b(?:file|php|phar|zip|expect|glob|zlib|compress\.zlib|compress\.bzip2|jar|netdoc)\s*:\s*\/\/|\bfile:\/(?!\/)/i;
/**
 * What is left of a traversal once a filter stripped its separators (`....web-inf/web.xml`, `c:windowswin.ini`,
 * `d:inetpubwwwroot`): a run of dots opening the value straight into a name, or a drive letter glued to a system
 * folder.
 */
const STRIPPED_SEPARATORS =
  /(?:^|[/\\=])\.{4,}[a-z{]|\b[a-z]:(?:windows|winnt|inetpub|boot\.ini)|web-inf[/\\]?web\.xml|\bglobal\.asa\b/i;
/**
 * A hidden file or folder in a request path (`/.git/config`, `/app/.claude/settings.json`): tools keep their
 * configuration and secrets there, and no site serves them on purpose. `/.well-known/` is the one public folder.
 */
const HIDDEN_PATH_SEGMENT = /(?:^|\/)\.(?!well-known(?:\/|$))[\w-][\w.-]*(?:\/|$)/i;
/** Separators and dots spelt as hex bytes (`0x5c0x2e./`, `..0x2f`), read back before the dot-segment check. */
const HEX_BYTE = /0x(2e|2f|5c)/gi;
const PHP_FILTER = /\bphp:\/\/(?:filter|input|fd|memory|temp|stdin)/i;

interface Pattern {
  readonly re: RegExp;
  readonly confidence: number;
}

const PATTERNS: readonly Pattern[] = [
  { re: PHP_FILTER, confidence: 0.95 },
  { re: DOT_SEGMENT, confidence: 0.8 },
  { re: HEX_SPELLED, confidence: 0.8 },
  { re: SENSITIVE, confidence: 0.75 },
  { re: STREAM_WRAPPER, confidence: 0.75 },
  { re: STRIPPED_SEPARATORS, confidence: 0.7 },
];

const HEX_CHARS: Readonly<Record<string, string>> = { '2e': '.', '2f': '/', '5c': '\\' };

/**
 * Detect path traversal or local file inclusion in one value (all its decoded forms).
 *
 * @example
 * detectPathTraversal({ forms: ['../../etc/passwd'] }); // { class: 'path_traversal', ... }
 * detectPathTraversal({ forms: ['v1.2..1.4'] });        // undefined
 */
export function detectPathTraversal(input: DetectorInput): PayloadFinding | undefined {
  let best: PayloadFinding | undefined;
  const forms = [...input.forms];
  for (const form of input.forms) {
    if (/0x(?:2e|2f|5c)/i.test(form)) forms.push(form.replace(HEX_BYTE, (_m, hex: string) => HEX_CHARS[hex] ?? ''));
  }
  for (const form of forms) {
    if (form.length < 2) continue;
    if (input.location === 'path' && (best === undefined || best.confidence < 0.6)) {
      const hidden = HIDDEN_PATH_SEGMENT.exec(form);
      if (hidden !== null) {
        best = { class: 'path_traversal', confidence: 0.6, evidence: evidenceAt(form, hidden.index, hidden[0].length) };
      }
    }
    for (const p of PATTERNS) {
      if (best !== undefined && best.confidence >= p.confidence) continue;
      const m = p.re.exec(form);
      if (m === null) continue;
      let confidence = p.confidence;
      if (p.re === DOT_SEGMENT) {
        // One `../` inside a longer path is how relative links look; several, or one reaching a sensitive file, is not.
        const climbs = form.match(CLIMB)?.length ?? 0;
        if (climbs >= 2 || SENSITIVE.test(form)) confidence = 0.95;
        else if (form.trim() === '..' || /^\.\.[/\\]/.test(form) || DOT_PARAMETER_SEGMENT.test(form)) confidence = 0.8;
        // A single `../` in text or markup (`<a href="../">`) is a relative link; in a path-like value it climbs.
        else if (/\s/.test(form.trim())) continue;
        else confidence = 0.6;
      }
      best = { class: 'path_traversal', confidence, evidence: evidenceAt(form, m.index, m[0].length) };
    }
  }
  return best;
}
