// Access-log and OTLP parsing throughput, each next to its physical baseline measured in the same run:
// - combined log: lines/s through parse + normalise (parseEvent) + enrich (the stage list of the server: client
//   address, geo/ASN, user agent, route template, redaction) vs the same file only read and split into lines;
// - OTLP JSON: events/s through JSON.parse + otlpToEvents + parseEvent vs JSON.parse alone;
// - `vigil analyze` (the compiled CLI, a child process) over the whole file: wall time, peak RSS, lines reported.
// BENCH_PARSE_LINES (default 1 000 000) sets the size of the generated log.
import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseEvent } from '../../packages/schema/dist/index.js';
import { buildConfig } from '../../packages/server/dist/config.js';
import { builtinLoadStats } from '../../packages/server/dist/enrich/geo-data.js';
import { applyStages } from '../../packages/server/dist/enrich/stage.js';
import { createLineParser, parseLineRecord } from '../../packages/server/dist/ingest/access-log.js';
import { readLines } from '../../packages/server/dist/ingest/lines.js';
import { otlpToEvents } from '../../packages/server/dist/ingest/otlp.js';
import { createStages } from '../../packages/server/dist/pipeline/stages.js';
import { figure, ratio, report } from '../lib.mjs';

const LINES = Number(process.env.BENCH_PARSE_LINES ?? 1_000_000);
const BAD_EVERY = 50_000;
const OTLP_REQUESTS = Number(process.env.BENCH_PARSE_OTLP_REQUESTS ?? 400);
const SPANS_PER_REQUEST = 100;
const cli = fileURLToPath(new URL('../../packages/server/bin/vigil.js', import.meta.url));

// A deterministic generator, so two runs parse the same file.
let seed = 42;
const rand = (n) => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed % n;
};
const hex = (n) => Array.from({ length: n }, () => '0123456789abcdef'[rand(16)]).join('');
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const USER_AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148',
  'okhttp/4.12.0',
  'python-requests/2.32.3',
  'curl/8.8.0',
  'Go-http-client/1.1',
  'sqlmap/1.8.6#stable (https://sqlmap.org)',
  'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
  '-',
];
// Public address blocks of several networks (home ISPs, clouds), so geo/ASN lookups hit real data.
const V4_BLOCKS = ['80.130', '91.64', '8.8', '3.120', '52.14', '104.16', '185.220', '41.90', '177.54', '203.0'];
const V6_BLOCKS = ['2003:e1', '2a01:4f8', '2600:1f18', '2001:4860', '2a02:810d'];

function clientAddress() {
  if (rand(5) === 0) return `${V6_BLOCKS[rand(V6_BLOCKS.length)]}:${hex(4)}:${hex(4)}::${hex(3)}`;
  return `${V4_BLOCKS[rand(V4_BLOCKS.length)]}.${rand(256)}.${1 + rand(254)}`;
}

function requestTarget() {
  switch (rand(8)) {
    case 0:
      return `/api/users/${rand(100_000)}/orders/${rand(1_000_000)}`;
    case 1:
      return `/api/products/${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`;
    case 2:
      return `/api/search?q=${['shoes', 'red+dress', 'laptop', "'+OR+1=1--"][rand(4)]}&page=${rand(20)}`;
    case 3:
      return `/static/app.${hex(20)}.js`;
    case 4:
      return '/api/login';
    case 5:
      return `/api/v2/accounts/${rand(5000)}`;
    case 6:
      return `/api/files/${hex(32)}/download?token=${hex(24)}`;
    default:
      return '/health';
  }
}

function clfTime(ms) {
  const d = new Date(ms);
  const p = (x) => String(x).padStart(2, '0');
  return `${p(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

async function generateLog(file) {
  const out = createWriteStream(file);
  const start = Date.UTC(2024, 2, 5, 0, 0, 0);
  let chunk = '';
  for (let i = 0; i < LINES; i++) {
    if (i % BAD_EVERY === BAD_EVERY - 1) {
      chunk += i % (2 * BAD_EVERY) === BAD_EVERY - 1 ? 'this is not an access log line\n' : '\\x16\\x03\\x01 garbage\n';
    } else {
      const method = rand(10) === 0 ? 'POST' : 'GET';
      const status = [200, 200, 200, 200, 201, 204, 301, 304, 401, 403, 404, 500][rand(12)];
      const ua = USER_AGENTS[rand(USER_AGENTS.length)];
      chunk +=
        `${clientAddress()} - ${rand(20) === 0 ? `user${rand(300)}` : '-'} [${clfTime(start + i * 20)}] ` +
        `"${method} ${requestTarget()} HTTP/1.1" ${status} ${rand(50_000)} "-" "${ua}"\n`;
    }
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await new Promise((r) => out.once('drain', r));
      chunk = '';
    }
  }
  out.end(chunk);
  await new Promise((r) => out.on('finish', r));
}

async function baseline(file) {
  const started = performance.now();
  let lines = 0;
  let bytes = 0;
  for await (const line of readLines(createReadStream(file))) {
    lines++;
    bytes += line.byteLength;
  }
  return { seconds: (performance.now() - started) / 1000, lines, bytes };
}

async function parseEnrich(file, stages) {
  const parser = createLineParser('combined');
  const options = { maxFutureSkewMillis: Number.MAX_SAFE_INTEGER };
  let lines = 0;
  let events = 0;
  let bad = 0;
  let hosting = 0;
  const started = performance.now();
  for await (const line of readLines(createReadStream(file))) {
    lines++;
    const parsed = parseLineRecord(parser, line);
    if (!parsed.ok) {
      bad++;
      continue;
    }
    const result = parseEvent(parsed.event, options);
    if (!result.ok) {
      bad++;
      continue;
    }
    const event = applyStages(stages, result.event);
    if (event.attributes['vigil.client.hosting'] === true) hosting++;
    events++;
  }
  return { seconds: (performance.now() - started) / 1000, lines, events, bad, hosting };
}

function otlpRequests() {
  const requests = [];
  const start = BigInt(Date.UTC(2024, 2, 5)) * 1_000_000n;
  for (let r = 0; r < OTLP_REQUESTS; r++) {
    const spans = [];
    for (let s = 0; s < SPANS_PER_REQUEST; s++) {
      const t = start + BigInt(r * SPANS_PER_REQUEST + s) * 20_000_000n;
      const str = (key, value) => ({ key, value: { stringValue: value } });
      const int = (key, value) => ({ key, value: { intValue: String(value) } });
      spans.push({
        traceId: hex(32),
        spanId: hex(16),
        name: 'GET /api/users/{id}',
        kind: 2,
        startTimeUnixNano: String(t),
        endTimeUnixNano: String(t + 12_000_000n),
        attributes: [
          str('http.request.method', rand(10) === 0 ? 'POST' : 'GET'),
          str('url.path', requestTarget().split('?')[0]),
          str('http.route', '/api/users/{id}'),
          int('http.response.status_code', [200, 200, 201, 401, 404, 500][rand(6)]),
          str('client.address', clientAddress()),
          str('user_agent.original', USER_AGENTS[rand(USER_AGENTS.length)]),
          str('network.protocol.version', '1.1'),
          str('server.address', 'api.example.com'),
          int('server.port', 443),
        ],
        status: { code: 0 },
      });
    }
    requests.push(
      JSON.stringify({
        resourceSpans: [
          {
            resource: {
              attributes: [
                { key: 'service.name', value: { stringValue: 'checkout' } },
                { key: 'deployment.environment.name', value: { stringValue: 'production' } },
              ],
            },
            scopeSpans: [{ scope: { name: '@opentelemetry/instrumentation-http' }, spans }],
          },
        ],
      }),
    );
  }
  return requests;
}

function otlpJsonOnly(requests) {
  const started = performance.now();
  let spans = 0;
  for (const body of requests) spans += JSON.parse(body).resourceSpans[0].scopeSpans[0].spans.length;
  return { seconds: (performance.now() - started) / 1000, events: spans };
}

function otlpFull(requests) {
  const options = { maxFutureSkewMillis: Number.MAX_SAFE_INTEGER };
  const started = performance.now();
  let events = 0;
  for (const body of requests) {
    for (const item of otlpToEvents('traces', JSON.parse(body)).items) if (parseEvent(item, options).ok) events++;
  }
  return { seconds: (performance.now() - started) / 1000, events };
}

/** `vigil analyze` as a user runs it: wall time, peak RSS and its closing report. */
function analyzeCli(file, cwd) {
  return new Promise((resolve, reject) => {
    const timeV = existsSync('/usr/bin/time');
    const command = timeV ? '/usr/bin/time' : process.execPath;
    const args = timeV
      ? ['-v', process.execPath, cli, 'analyze', file, '--format', 'combined']
      : [cli, 'analyze', file, '--format', 'combined'];
    const started = performance.now();
    const child = spawn(command, args, {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, VIGIL_CONFIG: '' },
    });
    let stdout = '';
    let stderr = '';
    let peakKiB = 0;
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    // Without GNU time, sample the high-water mark of the process (the node child) from /proc.
    const poll = timeV
      ? undefined
      : setInterval(() => {
          try {
            const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
            if (m) peakKiB = Math.max(peakKiB, Number(m[1]));
          } catch {
            // the process has ended
          }
        }, 100);
    child.on('error', reject);
    child.on('close', (code) => {
      if (poll) clearInterval(poll);
      const seconds = (performance.now() - started) / 1000;
      const hwm = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
      if (hwm) peakKiB = Number(hwm[1]);
      const summary = /analyzed (\d+) lines: (\d+) events, (\d+) bad lines[^,]*, (\d+) alerts/.exec(stderr);
      const reportedBad = stderr.split('\n').filter((l) => /:\d+: /.test(l) && l.startsWith(file)).length;
      if (code !== 0 || !summary) reject(new Error(`vigil analyze failed (exit ${code}):\n${stderr.slice(-2000)}`));
      else {
        resolve({
          seconds,
          peakMiB: peakKiB / 1024,
          lines: Number(summary[1]),
          events: Number(summary[2]),
          badLines: Number(summary[3]),
          alerts: Number(summary[4]),
          reportedBad,
          alertLines: stdout.split('\n').filter((l) => l.trim() !== '').length,
        });
      }
    });
  });
}

const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-parse-'));
try {
  const file = join(dir, 'access.log');
  let t = performance.now();
  await generateLog(file);
  const generateSeconds = (performance.now() - t) / 1000;
  const size = statSync(file).size;
  console.log(`generated ${LINES} lines (${(size / 1e6).toFixed(1)} MB) in ${generateSeconds.toFixed(1)} s`);

  const stages = createStages(buildConfig({}, {}));
  // Load the geo data before timing (it loads once per process, on the first public address): reported apart.
  t = performance.now();
  const probe = createLineParser('combined')('8.8.8.8 - - [05/Mar/2024:00:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "-"');
  applyStages(stages, parseEvent(probe.event, { maxFutureSkewMillis: Number.MAX_SAFE_INTEGER }).event);
  const geoLoadMillis = performance.now() - t;

  await baseline(file); // warm the page cache and the JIT
  const base = await baseline(file);
  const full = await parseEnrich(file, stages);
  console.log(`parse + enrich: ${full.events} events, ${full.bad} bad lines, ${full.hosting} from hosting networks`);

  const requests = otlpRequests();
  otlpJsonOnly(requests.slice(0, 20));
  otlpFull(requests.slice(0, 20));
  const jsonOnly = otlpJsonOnly(requests);
  const otlp = otlpFull(requests);

  const analyzed = await analyzeCli(file, dir);
  console.log(
    `vigil analyze: ${analyzed.lines} lines, ${analyzed.events} events, ${analyzed.badLines} bad lines ` +
      `(${analyzed.reportedBad} printed with line numbers), ${analyzed.alerts} alerts`,
  );
  if (analyzed.badLines !== full.bad || analyzed.lines !== LINES) {
    throw new Error(
      `vigil analyze counted ${analyzed.lines} lines / ${analyzed.badLines} bad, expected ${LINES} / ${full.bad}`,
    );
  }

  const baseRate = figure('read_split_lines_per_s', base.lines / base.seconds, 'lines/s');
  const fullRate = figure('parse_normalise_enrich_lines_per_s', full.lines / full.seconds, 'lines/s');
  const jsonRate = figure('otlp_json_parse_only_events_per_s', jsonOnly.events / jsonOnly.seconds, 'events/s');
  const otlpRate = figure('otlp_json_to_events_per_s', otlp.events / otlp.seconds, 'events/s');
  const geo = builtinLoadStats();
  await report(
    'parse',
    [
      baseRate,
      fullRate,
      ratio('parse_enrich_to_read_split_ratio', fullRate, baseRate),
      jsonRate,
      otlpRate,
      ratio('otlp_to_json_parse_ratio', otlpRate, jsonRate),
      figure('analyze_1m_wall_s', analyzed.seconds, 's'),
      figure('analyze_lines_per_s', analyzed.lines / analyzed.seconds, 'lines/s'),
      figure('analyze_peak_rss_mib', analyzed.peakMiB, 'MiB'),
      figure('geo_data_load_ms', geoLoadMillis, 'ms'),
      ...geo.map((g) => figure(`geo_${g.name}_data_mib`, g.bytes / 1048576, 'MiB')),
    ],
    {
      lines: LINES,
      fileBytes: size,
      badLines: full.bad,
      otlpRequests: OTLP_REQUESTS,
      spansPerRequest: SPANS_PER_REQUEST,
      analyze: analyzed,
      peakRssSource: existsSync('/usr/bin/time') ? '/usr/bin/time -v' : '/proc VmHWM',
      stages: stages.map((s) => s.name),
    },
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
