#!/usr/bin/env node
// Generates the reference tables of docs/events.md (every event type, every field) from the compiled catalogue,
// so the documentation cannot drift from the code. The tables live between BEGIN/END markers; the prose around
// them is written by hand.
//
//   node packages/schema/scripts/gen-docs.mjs           prints the generated sections
//   node packages/schema/scripts/gen-docs.mjs --write   rewrites them in place in docs/events.md
//
// Run `npx tsc -b packages/schema` first: this imports dist/.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { FIELDS, VOCABULARY_VERSION } from '../dist/index.js';
import { OWASP_EVENT_TYPES, VIGIL_EXTENSION_TYPES } from '../dist/vocabulary.js';

export const DOCS_PATH = fileURLToPath(new URL('../../../docs/events.md', import.meta.url));

const CATEGORY_TITLES = {
  authn: 'Authentication',
  authz: 'Authorization',
  excess: 'Excessive use',
  upload: 'File upload',
  input: 'Input validation',
  malicious: 'Malicious behaviour',
  privilege: 'Privilege changes',
  sensitive: 'Sensitive data changes',
  sequence: 'Sequence errors',
  session: 'Session management',
  sys: 'System events',
  user: 'User management',
  request: 'Requests',
  payment: 'Payments',
  account: 'Account security',
  data: 'Data access',
  app: 'Application errors',
  sdk: 'SDK health',
};

/** Escape what would break a table cell. Pipes are escaped even inside code spans (GFM allows it there). */
const cell = (text) => String(text).replaceAll('|', '\\|').replaceAll('\n', ' ');
const code = (text) => `\`${cell(text)}\``;

/** A Markdown table with padded columns, the layout `biome format` gives tables, so the two never fight. */
function table(header, rows) {
  const widths = header.map((_, i) => Math.max(3, ...[header, ...rows].map((row) => row[i].length)));
  const line = (cells) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [line(header), `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`, ...rows.map(line)].join('\n');
}

function fieldsCell(type) {
  if (type.args.length === 0) return '—';
  return type.args
    .map((a) => {
      const name = a.required ? `**${code(a.field)}**` : code(a.field);
      return `${name} (${cell(a.name)})`;
    })
    .join(', ');
}

function groupByCategory(types) {
  const groups = new Map();
  for (const t of types) {
    if (!groups.has(t.category)) groups.set(t.category, []);
    groups.get(t.category).push(t);
  }
  return groups;
}

function renderTypes(types, headingLevel) {
  const out = [];
  for (const [category, group] of groupByCategory(types)) {
    out.push(`${'#'.repeat(headingLevel)} ${CATEGORY_TITLES[category] ?? category} (\`${category}\`)`, '');
    const rows = group.map((t) => [code(t.type), code(t.pattern), fieldsCell(t), t.level, cell(t.description)]);
    out.push(table(['type', 'pattern', 'fields (argument)', 'level', 'meaning'], rows));
    out.push('');
    const notes = group.filter((t) => t.note);
    if (notes.length > 0) {
      out.push('Normalisation notes:', '');
      for (const t of notes) out.push(`- ${code(t.type)}: ${t.note}`);
      out.push('');
    }
  }
  return out.join('\n').trimEnd();
}

export function renderVersion() {
  return `Pinned vocabulary: **${VOCABULARY_VERSION}**.`;
}

export function renderOwaspTypes() {
  return renderTypes(OWASP_EVENT_TYPES, 4);
}

export function renderVigilTypes() {
  return renderTypes(VIGIL_EXTENSION_TYPES, 4);
}

export function renderFields() {
  const rows = FIELDS.map((f) => [
    code(f.name),
    f.type,
    f.origin,
    cell(f.description),
    code(JSON.stringify(f.example)),
  ]);
  return table(['field', 'type', 'origin', 'description', 'example'], rows);
}

const SECTIONS = {
  version: renderVersion,
  'owasp-types': renderOwaspTypes,
  'vigil-types': renderVigilTypes,
  fields: renderFields,
};

/** Replace every generated section of `text` with freshly generated content. Throws when a marker is missing. */
export function updateGeneratedSections(text) {
  let result = text;
  for (const [name, render] of Object.entries(SECTIONS)) {
    const begin = `<!-- BEGIN GENERATED: ${name} -->`;
    const end = `<!-- END GENERATED: ${name} -->`;
    const from = result.indexOf(begin);
    const to = result.indexOf(end);
    if (from < 0 || to < from) throw new Error(`docs/events.md: markers for section "${name}" are missing`);
    result = `${result.slice(0, from + begin.length)}\n${render()}\n${result.slice(to)}`;
  }
  return result;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (process.argv.includes('--write')) {
    const before = readFileSync(DOCS_PATH, 'utf8');
    const after = updateGeneratedSections(before);
    if (after !== before) writeFileSync(DOCS_PATH, after);
    console.log(after === before ? 'docs/events.md is up to date' : 'docs/events.md updated');
  } else {
    for (const [name, render] of Object.entries(SECTIONS)) console.log(`<!-- ${name} -->\n${render()}\n`);
  }
}
