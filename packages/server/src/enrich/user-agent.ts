/**
 * User-Agent classification: what kind of client sent the request, and which one.
 *
 * Categories, tested in this order (the first that matches wins):
 * 1. `attack_tool`: scanners, fuzzers and exploitation tools that announce themselves (sqlmap, Nikto, Nuclei...).
 *    Tested first because several of them pose as a browser around their own name (`Mozilla/5.00 (Nikto/2.5.0)`).
 * 2. `bot`: known crawlers, link previewers, uptime monitors, health checkers and internet-wide scanners.
 * 3. `library`: HTTP client libraries, command-line tools, load generators and headless browsers: scripted access.
 * 4. `bot` again, for a generic `bot` / `crawler` / `spider` word next to a contact URL or `compatible;`.
 * 5. `browser`: by engine token, most specific first (Edge and Opera before Chrome, Chrome before Safari).
 * 6. `bot` for a generic bot word without a URL; otherwise `unknown` (including an empty User-Agent).
 *
 * A User-Agent is whatever the client chose to send: this says what the client claims, which is evidence (an
 * attack tool's default UA, a library hitting a browser-only endpoint), never proof of identity.
 */
import { Field, type FieldValue, type SecurityEvent } from '@vigil/schema';
import { type EnrichmentStage, withAttributes } from './stage.js';

export type UserAgentCategory = 'browser' | 'library' | 'attack_tool' | 'bot' | 'unknown';

export interface UserAgentClass {
  readonly category: UserAgentCategory;
  /** Browser family, library, tool or bot name; absent when unknown. */
  readonly name?: string;
}

type Signature = readonly [pattern: string, name: string];

const ATTACK_TOOLS: readonly Signature[] = [
  ['sqlmap', 'sqlmap'],
  ['nikto', 'Nikto'],
  ['\\bnmap\\b', 'Nmap'],
  ['masscan', 'masscan'],
  ['zgrab', 'ZGrab'],
  ['\\bnuclei\\b', 'Nuclei'],
  ['wpscan', 'WPScan'],
  ['dirbuster', 'DirBuster'],
  ['gobuster', 'gobuster'],
  ['feroxbuster', 'feroxbuster'],
  ['dirsearch', 'dirsearch'],
  ['\\bdirb\\b', 'dirb'],
  ['\\bffuf\\b|fuzz faster u fool', 'ffuf'],
  ['wfuzz', 'wfuzz'],
  ['\\bhydra\\b', 'Hydra'],
  ['acunetix', 'Acunetix'],
  ['nessus', 'Nessus'],
  ['openvas', 'OpenVAS'],
  ['qualys', 'Qualys'],
  ['\\bburp', 'Burp Suite'],
  ['owasp[ _-]?zap|\\bzap/|\\bzaproxy', 'OWASP ZAP'],
  ['havij', 'Havij'],
  ['w3af', 'w3af'],
  ['commix', 'commix'],
  ['jaeles', 'Jaeles'],
  ['netsparker|invicti', 'Netsparker'],
  ['arachni', 'Arachni'],
  ['skipfish', 'skipfish'],
  ['whatweb', 'WhatWeb'],
  ['wapiti', 'Wapiti'],
  ['sqlninja', 'sqlninja'],
  ['xsser', 'XSSer'],
  ['webinspect', 'WebInspect'],
  ['appscan', 'AppScan'],
  ['\\bparos\\b', 'Paros'],
  ['zmeu', 'ZmEu'],
  ['morfeus', 'Morfeus'],
  ['joomscan', 'JoomScan'],
  ['droopescan', 'droopescan'],
  ['cmsmap', 'CMSmap'],
  ['interactsh', 'interactsh'],
  ['metasploit', 'Metasploit'],
];

const KNOWN_BOTS: readonly Signature[] = [
  ['googlebot', 'Googlebot'],
  ['adsbot-google|mediapartners-google|google-inspectiontool|googleother|storebot-google', 'Google crawler'],
  ['bingbot|msnbot|adidxbot|bingpreview', 'bingbot'],
  ['yandex(?:bot|images|metrika|mobilebot)', 'YandexBot'],
  ['baiduspider', 'Baiduspider'],
  ['duckduckbot|duckassistbot', 'DuckDuckBot'],
  ['yahoo! slurp', 'Yahoo! Slurp'],
  ['applebot', 'Applebot'],
  ['facebookexternalhit|facebookbot|meta-externalagent', 'facebookexternalhit'],
  ['twitterbot', 'Twitterbot'],
  ['linkedinbot', 'LinkedInBot'],
  ['slackbot|slack-imgproxy', 'Slackbot'],
  ['discordbot', 'Discordbot'],
  ['telegrambot', 'TelegramBot'],
  ['whatsapp', 'WhatsApp'],
  ['ahrefsbot', 'AhrefsBot'],
  ['semrushbot', 'SemrushBot'],
  ['mj12bot', 'MJ12bot'],
  ['dotbot', 'DotBot'],
  ['petalbot', 'PetalBot'],
  ['bytespider', 'Bytespider'],
  ['gptbot', 'GPTBot'],
  ['chatgpt-user|oai-searchbot', 'ChatGPT-User'],
  ['claudebot|claude-web|anthropic-ai', 'ClaudeBot'],
  ['ccbot', 'CCBot'],
  ['perplexitybot', 'PerplexityBot'],
  ['amazonbot', 'Amazonbot'],
  ['uptimerobot', 'UptimeRobot'],
  ['pingdom', 'Pingdom'],
  ['statuscake', 'StatusCake'],
  ['datadog(?:/| agent|synthetics)', 'Datadog Synthetics'],
  ['newrelicpinger', 'New Relic Synthetics'],
  ['site24x7', 'Site24x7'],
  ['kube-probe', 'kube-probe'],
  ['elb-healthchecker', 'ELB-HealthChecker'],
  ['googlehc', 'GoogleHC'],
  ['censysinspect', 'CensysInspect'],
  ['expanse, a palo alto networks company', 'Expanse'],
  ['internetmeasurement', 'InternetMeasurement'],
  ['l9explore|l9tcpid|leakix', 'LeakIX'],
  ['scrapy', 'Scrapy'],
];

const LIBRARIES: readonly Signature[] = [
  ['\\bcurl/|^curl$|libcurl', 'curl'],
  ['\\bwget', 'Wget'],
  ['python-requests', 'python-requests'],
  ['python-urllib', 'Python-urllib'],
  ['python-httpx', 'python-httpx'],
  ['aiohttp', 'aiohttp'],
  ['go-http-client', 'Go-http-client'],
  ['okhttp', 'okhttp'],
  ['java-http-client', 'Java-http-client'],
  ['apache-httpclient', 'Apache-HttpClient'],
  ['^java/|\\bjava/\\d', 'Java'],
  ['\\baxios\\b', 'axios'],
  ['node-fetch', 'node-fetch'],
  ['undici', 'undici'],
  ['^node$|^node/', 'node'],
  ['^got\\b', 'got'],
  ['postmanruntime', 'PostmanRuntime'],
  ['insomnia', 'Insomnia'],
  ['libwww-perl|lwp::', 'libwww-perl'],
  ['faraday', 'Faraday'],
  ['rest-client', 'rest-client'],
  ['^ruby\\b|\\bruby/', 'Ruby'],
  ['guzzlehttp', 'Guzzle'],
  ['httpie', 'HTTPie'],
  ['reqwest', 'reqwest'],
  ['^deno/', 'Deno'],
  ['^bun/', 'Bun'],
  ['restsharp', 'RestSharp'],
  ['\\bdart[:/]', 'Dart'],
  ['dalvik', 'Dalvik'],
  ['cfnetwork', 'CFNetwork'],
  ['powershell', 'PowerShell'],
  ['apachebench', 'ApacheBench'],
  ['^k6/|\\bgrafana k6', 'k6'],
  ['^hey/', 'hey'],
  ['jmeter', 'JMeter'],
  ['locust', 'Locust'],
  ['artillery', 'Artillery'],
  ['^grpc-', 'gRPC'],
  ['aws-sdk|botocore|boto3', 'AWS SDK'],
  ['headlesschrome', 'HeadlessChrome'],
  ['phantomjs', 'PhantomJS'],
  ['puppeteer', 'Puppeteer'],
  ['playwright', 'Playwright'],
  ['selenium', 'Selenium'],
];

// Browsers are tested one by one in priority order: their tokens overlap (every Chrome UA says Safari, every Edge
// UA says Chrome), so the leftmost match of a single alternation would name the wrong one.
const BROWSERS: readonly (readonly [RegExp, string])[] = [
  [/\bEdg(?:e|A|iOS)?\/\d/, 'Edge'],
  [/\bOPR\/\d|\bOpera[ /]|\bOPiOS\/|\bOPT\/\d/, 'Opera'],
  [/\bSamsungBrowser\//, 'Samsung Internet'],
  [/\bYaBrowser\//, 'Yandex Browser'],
  [/\bVivaldi\//, 'Vivaldi'],
  [/\bUCBrowser\//, 'UC Browser'],
  [/\bFirefox\/\d|\bFxiOS\//, 'Firefox'],
  [/\bChrome\/\d|\bCriOS\/|\bChromium\//, 'Chrome'],
  [/\bAppleWebKit\/.*\bSafari\/|\bVersion\/[\d.]+ (?:Mobile\/\w+ )?Safari\//, 'Safari'],
  [/\bMSIE \d|\bTrident\/\d/, 'Internet Explorer'],
];

const GENERIC_BOT = /bot\b|crawler|spider|scraper|crawl\b/i;
// A self-declared bot usually leaves a contact: `+http://...`, an e-mail address, or the old `compatible;` form.
const BOT_CONTACT = /https?:\/\/|\w@\w|compatible;/i;

/** One case-insensitive alternation per list; the capture group that took part says which entry matched. */
function compile(signatures: readonly Signature[]): RegExp {
  return new RegExp(signatures.map(([pattern]) => `(${pattern})`).join('|'), 'i');
}

const ATTACK_TOOL_PATTERN = compile(ATTACK_TOOLS);
const KNOWN_BOT_PATTERN = compile(KNOWN_BOTS);
const LIBRARY_PATTERN = compile(LIBRARIES);

function matchName(pattern: RegExp, signatures: readonly Signature[], text: string): string | undefined {
  const m = pattern.exec(text);
  if (m === null) return undefined;
  for (let i = 1; i < m.length; i++) if (m[i] !== undefined) return signatures[i - 1]![1];
  return undefined;
}

/** Only this much of a User-Agent is examined: every signature sits near its start, and attackers send megabytes. */
const MAX_EXAMINED_LENGTH = 1024;
const UNKNOWN: UserAgentClass = Object.freeze({ category: 'unknown' });

/**
 * Classify one User-Agent string. Pure and uncached; see UserAgentClassifier for the cached form.
 *
 * @example
 * classifyUserAgent('sqlmap/1.8#stable (https://sqlmap.org)'); // { category: 'attack_tool', name: 'sqlmap' }
 * classifyUserAgent('Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36');
 * // { category: 'browser', name: 'Chrome' }
 */
export function classifyUserAgent(userAgent: string): UserAgentClass {
  const text = userAgent.length > MAX_EXAMINED_LENGTH ? userAgent.slice(0, MAX_EXAMINED_LENGTH) : userAgent;
  if (text.trim() === '' || text === '-') return UNKNOWN;
  let name = matchName(ATTACK_TOOL_PATTERN, ATTACK_TOOLS, text);
  if (name !== undefined) return { category: 'attack_tool', name };
  name = matchName(KNOWN_BOT_PATTERN, KNOWN_BOTS, text);
  if (name !== undefined) return { category: 'bot', name };
  name = matchName(LIBRARY_PATTERN, LIBRARIES, text);
  if (name !== undefined) return { category: 'library', name };
  const genericBot = GENERIC_BOT.exec(text);
  if (genericBot !== null && BOT_CONTACT.test(text))
    return { category: 'bot', name: wordAround(text, genericBot.index) };
  for (const [pattern, browser] of BROWSERS) if (pattern.test(text)) return { category: 'browser', name: browser };
  if (genericBot !== null) return { category: 'bot', name: wordAround(text, genericBot.index) };
  return UNKNOWN;
}

/** The product token around `index` (`ExampleBot` in `... ExampleBot/2.1; ...`), at most 64 characters. */
function wordAround(text: string, index: number): string {
  let start = index;
  while (start > 0 && index - start < 64 && isWordChar(text.charCodeAt(start - 1))) start--;
  let end = index;
  while (end < text.length && end - start < 64 && isWordChar(text.charCodeAt(end))) end++;
  return text.slice(start, end);
}

function isWordChar(c: number): boolean {
  return (
    (c >= 0x30 && c <= 0x39) ||
    (c >= 0x41 && c <= 0x5a) ||
    (c >= 0x61 && c <= 0x7a) ||
    c === 0x5f ||
    c === 0x2d ||
    c === 0x2e
  );
}

export interface UserAgentClassifierOptions {
  /** Results kept for the most recently seen User-Agents. Default 2000. */
  readonly cacheSize?: number;
}

export const USER_AGENT_DEFAULTS = {
  cacheSize: 2000,
} as const;

/**
 * classifyUserAgent behind a bounded LRU cache: traffic repeats a few hundred User-Agents, so most requests cost
 * one map lookup. User-Agents longer than the examined length are classified but not cached, so that a flood of
 * unique giant strings cannot hold more than `cacheSize` small entries.
 */
export class UserAgentClassifier {
  readonly #cache = new Map<string, UserAgentClass>();
  readonly #cacheSize: number;

  constructor(options: UserAgentClassifierOptions = {}) {
    this.#cacheSize = options.cacheSize ?? USER_AGENT_DEFAULTS.cacheSize;
    if (!Number.isSafeInteger(this.#cacheSize) || this.#cacheSize < 0) {
      throw new RangeError(`cacheSize must be a non-negative integer, got ${this.#cacheSize}`);
    }
  }

  classify(userAgent: string): UserAgentClass {
    const cached = this.#cache.get(userAgent);
    if (cached !== undefined) {
      // Re-insert to mark it most recently used: Map iteration order is insertion order.
      this.#cache.delete(userAgent);
      this.#cache.set(userAgent, cached);
      return cached;
    }
    const result = classifyUserAgent(userAgent);
    if (this.#cacheSize > 0 && userAgent.length <= MAX_EXAMINED_LENGTH) {
      if (this.#cache.size >= this.#cacheSize) this.#cache.delete(this.#cache.keys().next().value!);
      this.#cache.set(userAgent, result);
    }
    return result;
  }

  /** Number of cached results (for metrics and tests). */
  get size(): number {
    return this.#cache.size;
  }
}

/**
 * The stage: from `user_agent.original`, adds `vigil.user_agent.category`, `user_agent.name` when the event has
 * none, and `vigil.tool.name` for an attack tool. Events without a User-Agent, or already classified, are left
 * as they are.
 *
 * @example
 * const stage = createUserAgentStage();
 * stage.apply(event).attributes['vigil.user_agent.category']; // 'attack_tool'
 */
export function createUserAgentStage(options: UserAgentClassifierOptions = {}): EnrichmentStage {
  const classifier = new UserAgentClassifier(options);
  return {
    name: 'user-agent',
    apply(event: SecurityEvent): SecurityEvent {
      const userAgent = event.attributes[Field.userAgentOriginal];
      if (typeof userAgent !== 'string' || event.attributes[Field.userAgentCategory] !== undefined) return event;
      const result = classifier.classify(userAgent);
      const added: Record<string, FieldValue> = { [Field.userAgentCategory]: result.category };
      if (result.name !== undefined && event.attributes[Field.userAgentName] === undefined) {
        added[Field.userAgentName] = result.name;
      }
      if (
        result.category === 'attack_tool' &&
        result.name !== undefined &&
        event.attributes[Field.toolName] === undefined
      ) {
        added[Field.toolName] = result.name;
      }
      return withAttributes(event, added);
    },
  };
}
