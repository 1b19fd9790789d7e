import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { SecurityEvent } from '@vigil/schema';
import { classifyUserAgent, createUserAgentStage, UserAgentClassifier } from './user-agent.js';

const CHROME =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36';

const CASES: readonly [string, string, string | undefined][] = [
  // browsers: the overlapping tokens must resolve to the right family
  [CHROME, 'browser', 'Chrome'],
  [`${CHROME} Edg/124.0.2478.51`, 'browser', 'Edge'],
  [`${CHROME} OPR/110.0.0.0`, 'browser', 'Opera'],
  ['Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0', 'browser', 'Firefox'],
  [
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15',
    'browser',
    'Safari',
  ],
  [
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
    'browser',
    'Safari',
  ],
  [
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1',
    'browser',
    'Chrome',
  ],
  [
    'Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36',
    'browser',
    'Samsung Internet',
  ],
  ['Mozilla/5.0 (Windows NT 10.0; WOW64; Trident/7.0; rv:11.0) like Gecko', 'browser', 'Internet Explorer'],
  // a phone whose model name ends in "BOT" is still a browser
  [
    'Mozilla/5.0 (Linux; Android 10; CUBOT X30) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36',
    'browser',
    'Chrome',
  ],

  // attack tools, including those that pose as a browser around their name
  ['sqlmap/1.8.2#stable (https://sqlmap.org)', 'attack_tool', 'sqlmap'],
  ['Mozilla/5.00 (Nikto/2.5.0) (Evasions:None) (Test:Port Check)', 'attack_tool', 'Nikto'],
  ['Mozilla/5.0 (compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html)', 'attack_tool', 'Nmap'],
  ['masscan/1.3 (https://github.com/robertdavidgraham/masscan)', 'attack_tool', 'masscan'],
  ['Mozilla/5.0 zgrab/0.x', 'attack_tool', 'ZGrab'],
  ['Nuclei - Open-source project (github.com/projectdiscovery/nuclei)', 'attack_tool', 'Nuclei'],
  ['WPScan v3.8.25 (https://wpscan.com/wordpress-security-scanner)', 'attack_tool', 'WPScan'],
  ['DirBuster-1.0-RC1 (http://www.owasp.org/index.php/Category:OWASP_DirBuster_Project)', 'attack_tool', 'DirBuster'],
  ['gobuster/3.6', 'attack_tool', 'gobuster'],
  ['feroxbuster/2.10.2', 'attack_tool', 'feroxbuster'],
  ['Fuzz Faster U Fool v2.1.0-dev', 'attack_tool', 'ffuf'],
  ['Wfuzz/3.1.0', 'attack_tool', 'wfuzz'],
  ['Mozilla/4.0 (Hydra)', 'attack_tool', 'Hydra'],
  [`${CHROME} Acunetix-Aspect-Queries`, 'attack_tool', 'Acunetix'],
  ['Nessus SOAP', 'attack_tool', 'Nessus'],
  ['Mozilla/5.0 (compatible; OpenVAS-VT 22.4)', 'attack_tool', 'OpenVAS'],
  ['Havij', 'attack_tool', 'Havij'],
  ['w3af.org', 'attack_tool', 'w3af'],
  ['commix/v3.9-stable (https://commixproject.com)', 'attack_tool', 'commix'],
  ['Jaeles - Automated Web Application Testing', 'attack_tool', 'Jaeles'],
  ['Mozilla/5.0 (compatible; OWASP ZAP 2.14)', 'attack_tool', 'OWASP ZAP'],

  // libraries and tools: scripted access
  ['curl/8.5.0', 'library', 'curl'],
  ['Wget/1.21.4', 'library', 'Wget'],
  ['python-requests/2.31.0', 'library', 'python-requests'],
  ['Python/3.12 aiohttp/3.9.3', 'library', 'aiohttp'],
  ['Go-http-client/1.1', 'library', 'Go-http-client'],
  ['okhttp/4.12.0', 'library', 'okhttp'],
  ['Java/17.0.10', 'library', 'Java'],
  ['Java-http-client/17.0.10', 'library', 'Java-http-client'],
  ['Apache-HttpClient/4.5.14 (Java/17.0.10)', 'library', 'Apache-HttpClient'],
  ['axios/1.6.7', 'library', 'axios'],
  ['node-fetch/1.0 (+https://github.com/bitinn/node-fetch)', 'library', 'node-fetch'],
  ['undici', 'library', 'undici'],
  ['node', 'library', 'node'],
  ['PostmanRuntime/7.36.3', 'library', 'PostmanRuntime'],
  ['libwww-perl/6.72', 'library', 'libwww-perl'],
  ['Ruby', 'library', 'Ruby'],
  ['GuzzleHttp/7', 'library', 'Guzzle'],
  ['HTTPie/3.2.2', 'library', 'HTTPie'],
  ['Boto3/1.34.0 md/Botocore#1.34.0 ua/2.0 os/linux', 'library', 'AWS SDK'],
  [
    'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36',
    'library',
    'HeadlessChrome',
  ],

  // bots
  ['Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)', 'bot', 'Googlebot'],
  [
    'Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.91 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
    'bot',
    'Googlebot',
  ],
  ['Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)', 'bot', 'bingbot'],
  ['Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)', 'bot', 'AhrefsBot'],
  [
    'Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)',
    'bot',
    'GPTBot',
  ],
  ['kube-probe/1.29', 'bot', 'kube-probe'],
  ['Mozilla/5.0 (compatible; CensysInspect/1.1; +https://about.censys.io/)', 'bot', 'CensysInspect'],
  ['Mozilla/5.0 (compatible; ExampleCrawler/1.0; +https://example.org/crawler)', 'bot', 'ExampleCrawler'],
  [`${CHROME} (compatible; Acme-Spider/2.0; +https://acme.example/spider)`, 'bot', 'Acme-Spider'],
  ['SomeRandomBot/0.1', 'bot', 'SomeRandomBot'],

  // unknown
  ['', 'unknown', undefined],
  ['-', 'unknown', undefined],
  ['Mozilla/5.0', 'unknown', undefined],
  ['CheckoutApp/3.2.1 (build 411)', 'unknown', undefined],
];

describe('classifyUserAgent', () => {
  for (const [userAgent, category, name] of CASES) {
    test(`${category} ${name ?? ''}: ${userAgent.slice(0, 70) || '(empty)'}`, () => {
      assert.deepEqual(classifyUserAgent(userAgent), name === undefined ? { category } : { category, name });
    });
  }

  test('only the start of a huge User-Agent is examined', () => {
    assert.deepEqual(classifyUserAgent(`curl/8.5.0 ${'x'.repeat(1_000_000)}`), { category: 'library', name: 'curl' });
    assert.deepEqual(classifyUserAgent(`${'x'.repeat(2000)} sqlmap/1.8`), { category: 'unknown' });
  });
});

describe('UserAgentClassifier', () => {
  test('is a least-recently-used cache of at most cacheSize entries', () => {
    const classifier = new UserAgentClassifier({ cacheSize: 2 });
    const curl = classifier.classify('curl/8.5.0');
    const wget = classifier.classify('Wget/1.21.4');
    assert.equal(classifier.classify('curl/8.5.0'), curl); // cached, and now the most recently used
    classifier.classify('axios/1.6.7'); // evicts Wget, the least recently used
    assert.equal(classifier.size, 2);
    assert.equal(classifier.classify('curl/8.5.0'), curl);
    const wgetAgain = classifier.classify('Wget/1.21.4');
    assert.notEqual(wgetAgain, wget);
    assert.deepEqual(wgetAgain, wget);
  });

  test('does not cache User-Agents beyond the examined length', () => {
    const classifier = new UserAgentClassifier({ cacheSize: 10 });
    classifier.classify(`curl/8.5.0 ${'x'.repeat(5000)}`);
    assert.equal(classifier.size, 0);
  });

  test('refuses a negative cache size', () => {
    assert.throws(() => new UserAgentClassifier({ cacheSize: -1 }), RangeError);
  });
});

describe('user-agent stage', () => {
  const event = (attributes: Record<string, string>): SecurityEvent =>
    Object.freeze({
      id: 'e1',
      time: Date.UTC(2024, 2, 5),
      type: 'http_request',
      attributes: Object.freeze(attributes),
    });

  test('adds category, name and, for an attack tool, vigil.tool.name', () => {
    const stage = createUserAgentStage();
    assert.equal(stage.name, 'user-agent');
    const input = event({ 'user_agent.original': 'sqlmap/1.8.2#stable (https://sqlmap.org)' });
    const out = stage.apply(input);
    assert.deepEqual(out.attributes, {
      'user_agent.original': 'sqlmap/1.8.2#stable (https://sqlmap.org)',
      'user_agent.name': 'sqlmap',
      'vigil.user_agent.category': 'attack_tool',
      'vigil.tool.name': 'sqlmap',
    });
    assert.equal(Object.keys(input.attributes).length, 1);
  });

  test('keeps a user_agent.name the source already set; unknown agents get a category only', () => {
    const stage = createUserAgentStage();
    const named = stage.apply(event({ 'user_agent.original': CHROME, 'user_agent.name': 'Chrome Mobile' }));
    assert.equal(named.attributes['user_agent.name'], 'Chrome Mobile');
    assert.equal(named.attributes['vigil.user_agent.category'], 'browser');
    const unknown = stage.apply(event({ 'user_agent.original': 'CheckoutApp/3.2.1' }));
    assert.deepEqual(unknown.attributes, {
      'user_agent.original': 'CheckoutApp/3.2.1',
      'vigil.user_agent.category': 'unknown',
    });
  });

  test('events without a User-Agent, or already classified, come back as they are', () => {
    const stage = createUserAgentStage();
    const none = event({ 'url.path': '/' });
    assert.equal(stage.apply(none), none);
    const done = event({ 'user_agent.original': 'curl/8.5.0', 'vigil.user_agent.category': 'library' });
    assert.equal(stage.apply(done), done);
  });
});
