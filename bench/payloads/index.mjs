// Payload detection measured on labelled corpora: recall per attack class and source, false-positive rate per
// benign source, for two views of each request:
//   url  — what an access log shows: method and URI (path + query string);
//   full — URI plus headers and body, as the SDK's parameter inspection provides them.
//
//   npm run bench -- payloads [--corpora DIR] [--show-misses N] [--show-fp N]
//
// DIR defaults to ../shared/corpora next to the repository and holds any of three formats:
//   httpparams/*.csv      a `payload` column and an `attack_type` column (norm, sqli, xss, path-traversal, cmdi);
//   libinjection/*.txt    one value per line: sqli-*.txt and xss-*.txt attacks, false_positives.txt benign;
//   crs-regression/**.yaml go-ftw tests: stages[].input (method, uri, headers, data) and output.log
//                         expect_ids (attack) / no_expect_ids (must not fire; benign only when its description
//                         says false positive / legitimate / benign). The rule id gives the class.
// Any other labelled set in these formats is scored the same way. Nothing from the corpora is copied here.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { inspectRequest } from '../../packages/engine/dist/index.js';
import { figure, ratio, report } from '../lib.mjs';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

function option(name, fallback) {
  const args = process.argv.slice(2);
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback;
}

const corporaDir = resolve(option('--corpora', join(repoRoot, '..', 'shared', 'corpora')));
const showMisses = Number(option('--show-misses', '0'));
const showFalsePositives = Number(option('--show-fp', '0'));

if (!existsSync(corporaDir) || !statSync(corporaDir).isDirectory()) {
  console.log(`payloads: no corpus directory at ${corporaDir}; skipping (pass --corpora DIR to score one).`);
  process.exit(0);
}

/** A labelled case: `label` is a Vigil class, another attack group name (not scored as a class), or 'benign'. */
// { source, label, id, url: RequestView, full: RequestView }

// ---------------------------------------------------------------------------------------------------------- CSV

/** RFC 4180: quoted fields may hold commas, doubled quotes and line breaks. */
function parseCsv(text) {
  const rows = [];
  let row = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += c;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

const HTTPPARAMS_LABELS = {
  norm: 'benign',
  sqli: 'sqli',
  xss: 'xss',
  'path-traversal': 'path_traversal',
  cmdi: 'cmdi',
};

/** A value sent as one query parameter: encoded in the URI for the url view, inspected as-is for the full view. */
function valueCase(source, label, id, value) {
  return {
    source,
    label,
    id,
    value,
    url: { path: '/', query: `p=${encodeURIComponent(value)}` },
    full: { path: '/', params: [{ location: 'query', key: 'p', value }] },
  };
}

function loadHttpParams(dir) {
  const cases = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.csv'))) {
    const [header, ...rows] = parseCsv(readFileSync(join(dir, file), 'utf8'));
    const payloadAt = header.indexOf('payload');
    const typeAt = header.indexOf('attack_type');
    if (payloadAt < 0 || typeAt < 0) continue;
    rows.forEach((row, i) => {
      const label = HTTPPARAMS_LABELS[row[typeAt]];
      if (label !== undefined && row[payloadAt] !== undefined) {
        cases.push(
          valueCase(label === 'benign' ? 'httpparams_norm' : 'httpparams', label, `${file}:${i + 2}`, row[payloadAt]),
        );
      }
    });
  }
  return cases;
}

function loadLibinjection(dir) {
  const cases = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.txt'))) {
    let label;
    let source = 'libinjection';
    if (file.startsWith('sqli-')) label = 'sqli';
    else if (file.startsWith('xss-')) label = 'xss';
    else if (file === 'false_positives.txt') {
      label = 'benign';
      source = 'libinjection_false_positives';
    } else continue;
    const lines = readFileSync(join(dir, file), 'utf8').split(/\r?\n/);
    lines.forEach((line, i) => {
      // Lines starting with `#` are the files' own comments (an attack never starts with `# ` and a letter there).
      if (line.trim() === '' || /^#(?:\s|$)/.test(line)) return;
      cases.push(valueCase(source, label, `${file}:${i + 1}`, line));
    });
  }
  return cases;
}

// ---------------------------------------------------------------------------------------------------------- CRS

/** Which class a CRS rule tests; groups that are not a Vigil class keep a name of their own (reported apart). */
function crsLabel(ruleId) {
  const id = String(ruleId);
  if (id.startsWith('930')) return 'path_traversal';
  if (id.startsWith('932')) return 'cmdi';
  if (id.startsWith('941')) return 'xss';
  if (id.startsWith('942')) return 'sqli';
  if (id === '934120') return 'ssrf';
  if (/^9211[2-6]0$/.test(id)) return 'crlf';
  if (id.startsWith('931')) return 'other:rfi';
  if (id.startsWith('933')) return 'other:php';
  if (id.startsWith('934')) return 'other:generic';
  if (id.startsWith('944')) return 'other:java';
  return undefined;
}

const BENIGN_DESCRIPTION = /false[\s_-]*positive|\bFP\b|legitimate|benign/i;

function walk(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, out);
    else if (/\.ya?ml$/.test(name)) out.push(path);
  }
  return out;
}

function splitUri(uri) {
  let target = uri ?? '/';
  const abs = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i.exec(target);
  if (abs) target = target.slice(abs[0].length) || '/';
  const hash = target.indexOf('#');
  if (hash >= 0) target = target.slice(0, hash);
  const q = target.indexOf('?');
  return q < 0 ? { path: target, query: '' } : { path: target.slice(0, q), query: target.slice(q + 1) };
}

function decodeLoosely(text) {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}

/** JSON → flat dotted keys, as the SDK reports body fields. */
function flattenJson(value, prefix, out) {
  if (out.length > 256) return out;
  if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) flattenJson(v, prefix === '' ? k : `${prefix}.${k}`, out);
  } else if (value !== null && value !== undefined) out.push([prefix || 'body', String(value)]);
  return out;
}

function bodyParams(data, contentType) {
  if (data === undefined || data === null || data === '') return [];
  const body = Array.isArray(data) ? data.join('\n') : String(data);
  const type = (contentType ?? '').toLowerCase();
  const trimmed = body.trim();
  if (type.includes('json') || /^[[{]/.test(trimmed)) {
    try {
      return flattenJson(JSON.parse(trimmed), '', []).map(([key, value]) => ({ location: 'body', key, value }));
    } catch {
      // not JSON after all: fall through
    }
  }
  const boundary = /boundary=("?)([^";]+)\1/i.exec(contentType ?? '');
  if (type.includes('multipart') && boundary) {
    const params = [];
    for (const part of body.split(`--${boundary[2]}`)) {
      const split = part.search(/\r?\n\r?\n/);
      if (split < 0) continue;
      const head = part.slice(0, split);
      const content = part
        .slice(split)
        .replace(/^\r?\n\r?\n/, '')
        .replace(/\r?\n$/, '');
      const name = /name="([^"]*)"/i.exec(head)?.[1] ?? 'part';
      const filename = /filename="([^"]*)"/i.exec(head)?.[1];
      params.push({ location: 'body', key: name, value: content });
      if (filename !== undefined) params.push({ location: 'body', key: `${name}.filename`, value: filename });
    }
    return params;
  }
  if (type.includes('x-www-form-urlencoded') || (!type && /^[^=\s&]+=/.test(trimmed) && !trimmed.startsWith('<'))) {
    return trimmed.split('&').map((pair) => {
      const eq = pair.indexOf('=');
      return {
        location: 'body',
        key: decodeLoosely(eq < 0 ? pair : pair.slice(0, eq)),
        value: eq < 0 ? '' : decodeLoosely(pair.slice(eq + 1)),
      };
    });
  }
  if (type.includes('xml') || trimmed.startsWith('<?xml')) {
    // As an XML-aware inspection would: attribute values and text nodes, entities left for the detector to decode.
    const params = [];
    for (const m of trimmed.matchAll(/<([\w:.-]+)([^<>]*)>([^<]*)/g)) {
      for (const a of m[2].matchAll(/([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) {
        params.push({ location: 'body', key: `${m[1]}@${a[1]}`, value: a[2] ?? a[3] ?? '' });
      }
      if (m[3].trim() !== '') params.push({ location: 'body', key: m[1], value: m[3] });
    }
    if (params.length > 0) return params;
  }
  return [{ location: 'body', key: 'body', value: body }];
}

function headerParams(headers) {
  const params = [];
  for (const [name, raw] of Object.entries(headers ?? {})) {
    const key = name.toLowerCase();
    const value = String(raw ?? '');
    if (key === 'host' || key === 'content-length') continue;
    if (key === 'cookie') {
      for (const pair of value.split(';')) {
        const eq = pair.indexOf('=');
        const cookieName = (eq < 0 ? pair : pair.slice(0, eq)).trim();
        params.push({
          location: 'header',
          key: `cookie.${cookieName}`,
          value: eq < 0 ? '' : pair.slice(eq + 1).trim(),
        });
      }
      continue;
    }
    params.push({ location: 'header', key, value });
  }
  return params;
}

function loadCrs(dir) {
  const cases = [];
  for (const file of walk(dir)) {
    let doc;
    try {
      doc = parseYaml(readFileSync(file, 'utf8'));
    } catch {
      continue;
    }
    const ruleId = doc?.rule_id ?? basename(file).replace(/\.ya?ml$/, '');
    for (const test of doc?.tests ?? []) {
      for (const [s, stage] of (test.stages ?? []).entries()) {
        const input = stage.input ?? stage.stage?.input;
        const log = (stage.output ?? stage.stage?.output)?.log ?? {};
        if (!input || input.uri === undefined) continue;
        const attack = Array.isArray(log.expect_ids) && log.expect_ids.length > 0;
        const mustNot = Array.isArray(log.no_expect_ids) && log.no_expect_ids.length > 0;
        let label;
        let source;
        if (attack) {
          label = crsLabel(log.expect_ids[0] ?? ruleId);
          source = 'crs';
        } else if (mustNot && BENIGN_DESCRIPTION.test(`${test.desc ?? ''} ${test.description ?? ''}`)) {
          label = 'benign';
          source = 'crs_benign';
        }
        if (label === undefined) continue;
        const { path, query } = splitUri(String(input.uri));
        const headers = input.headers ?? {};
        const contentType = Object.entries(headers).find(([k]) => k.toLowerCase() === 'content-type')?.[1];
        cases.push({
          source,
          label,
          id: `${basename(file)}#${test.test_id ?? test.test_title ?? '?'}.${s}`,
          value: `${input.method ?? 'GET'} ${input.uri}${input.data ? ` [body] ${String(input.data).slice(0, 120)}` : ''}`,
          url: { path, query },
          full: { path, query, params: [...headerParams(headers), ...bodyParams(input.data, contentType)] },
        });
      }
    }
  }
  return cases;
}

// ------------------------------------------------------------------------------------------------------ scoring

const cases = [];
const loaded = [];
for (const [folder, load] of [
  ['httpparams', loadHttpParams],
  ['libinjection', loadLibinjection],
  ['crs-regression', loadCrs],
]) {
  const dir = join(corporaDir, folder);
  if (existsSync(dir)) {
    const before = cases.length;
    cases.push(...load(dir));
    loaded.push(`${folder} (${cases.length - before})`);
  }
}
if (cases.length === 0) {
  console.log(`payloads: no labelled cases found under ${corporaDir}; skipping.`);
  process.exit(0);
}

const VIEWS = ['url', 'full'];
const tallies = new Map(); // key `${view}|${source}|${label}` → { hit, total, misses, fps, byClass }
function tally(view, source, label) {
  const key = `${view}|${source}|${label}`;
  let t = tallies.get(key);
  if (!t) {
    t = { view, source, label, hit: 0, total: 0, examples: [], byClass: new Map() };
    tallies.set(key, t);
  }
  return t;
}

const timing = { url: 0, full: 0 };
for (const c of cases) {
  for (const view of VIEWS) {
    const started = performance.now();
    const result = inspectRequest(c[view]);
    timing[view] += performance.now() - started;
    const t = tally(view, c.source, c.label);
    t.total++;
    let hit;
    if (c.label === 'benign') hit = result.classes.length > 0;
    else if (c.label.startsWith('other:')) hit = result.classes.length > 0;
    else hit = result.classes.includes(c.label);
    for (const cls of result.classes) t.byClass.set(cls, (t.byClass.get(cls) ?? 0) + 1);
    if (hit) t.hit++;
    const wantExample = c.label === 'benign' ? hit : !hit;
    if (wantExample && t.examples.length < Math.max(showMisses, showFalsePositives)) {
      t.examples.push(
        `${c.id}  ${JSON.stringify(c.value).slice(0, 160)}${hit ? `  → ${result.findings.map((f) => `${f.class}@${f.location}: ${f.evidence}`).join(' | ')}` : ''}`,
      );
    }
  }
}

// ------------------------------------------------------------------------------------------------------- report

const pct = (n, d) => (d === 0 ? '   -  ' : `${((100 * n) / d).toFixed(1).padStart(5)}%`);
const rows = [...tallies.values()].filter((t) => t.view === 'full');
const sortKey = (t) => `${t.label === 'benign' ? 'z' : t.label.startsWith('other:') ? 'y' : 'a'}${t.label}|${t.source}`;
rows.sort((a, b) => sortKey(a).localeCompare(sortKey(b)));

console.log(`payloads: corpora at ${corporaDir}: ${loaded.join(', ')}`);
console.log(
  `\n${'class / group'.padEnd(22)} ${'source'.padEnd(30)} ${'cases'.padStart(6)}  ${'url view'.padStart(8)}  ${'full view'.padStart(9)}  measure`,
);
for (const full of rows) {
  const url = tallies.get(`url|${full.source}|${full.label}`);
  const measure =
    full.label === 'benign'
      ? 'FPR (any class fired)'
      : full.label.startsWith('other:')
        ? 'any class fired (not a Vigil class)'
        : 'recall';
  console.log(
    `${full.label.padEnd(22)} ${full.source.padEnd(30)} ${String(full.total).padStart(6)}  ${pct(url.hit, url.total).padStart(8)}  ${pct(full.hit, full.total).padStart(9)}  ${measure}`,
  );
  if (full.label === 'benign' && full.byClass.size > 0) {
    console.log(`${''.padEnd(54)}fired: ${[...full.byClass].map(([k, v]) => `${k} ${v}`).join(', ')}`);
  }
}
if (showMisses > 0 || showFalsePositives > 0) {
  for (const t of [...tallies.values()].filter((x) => x.view === 'full' && x.examples.length > 0)) {
    const limit = t.label === 'benign' ? showFalsePositives : showMisses;
    if (limit === 0) continue;
    console.log(`\n${t.label === 'benign' ? 'false positives' : 'misses'}: ${t.label} / ${t.source}`);
    for (const e of t.examples.slice(0, limit)) console.log(`  ${e}`);
  }
}

const figures = [];
const count = (name, value) => figure(name, value, 'cases');
const pooled = new Map(); // `${label}|${view}` → {hit,total}
for (const t of tallies.values()) {
  if (t.label.startsWith('other:')) continue;
  const base = t.label === 'benign' ? `fpr_${t.source}_${t.view}` : `recall_${t.label}_${t.source}_${t.view}`;
  figures.push(
    ratio(
      base,
      count(`${base}_${t.label === 'benign' ? 'fired' : 'detected'}`, t.hit),
      count(`${base}_cases`, t.total),
    ),
  );
  if (t.label !== 'benign') {
    const p = pooled.get(`${t.label}|${t.view}`) ?? { hit: 0, total: 0 };
    p.hit += t.hit;
    p.total += t.total;
    pooled.set(`${t.label}|${t.view}`, p);
  }
}
for (const [key, p] of [...pooled].sort()) {
  const [label, view] = key.split('|');
  const base = `recall_${label}_${view}`;
  figures.push(ratio(base, count(`${base}_detected`, p.hit), count(`${base}_cases`, p.total)));
}
figures.sort((a, b) => a.name.localeCompare(b.name));
for (const view of VIEWS) {
  const perRequest = figure(`inspect_time_${view}`, (1000 * timing[view]) / cases.length, 'µs/request');
  figures.push(perRequest);
}
await report('payloads', figures, {
  corpora: corporaDir,
  sources: loaded,
  notes:
    'recall_<class>_<view> pools every source of that class; per-source figures are recall_<class>_<source>_<view>. ' +
    'fpr_<source>_<view> counts a benign case as a false positive when any class fired. CRS must-not-fire tests ' +
    'count as benign only when their description says false positive / legitimate / benign.',
});
