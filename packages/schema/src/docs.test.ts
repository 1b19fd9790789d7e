import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { FIELDS } from './fields.js';
import { EVENT_TYPES, VOCABULARY_VERSION } from './vocabulary.js';

// Compiled to dist/, so the repository root is three levels up.
const docsUrl = new URL('../../../docs/events.md', import.meta.url);
const generatorUrl = new URL('../scripts/gen-docs.mjs', import.meta.url);
const FIX = 'run `npx tsc -b packages/schema && node packages/schema/scripts/gen-docs.mjs --write`';

/** Table padding is layout (the formatter may change it); only the cells' content must match. */
function withoutTablePadding(markdown: string): string {
  return markdown
    .split('\n')
    .map((line) => (line.startsWith('|') ? line.replace(/ {2,}/g, ' ').replace(/\| -{3,} (?=\|)/g, '| --- ') : line))
    .join('\n');
}

describe('docs/events.md', () => {
  const docs = readFileSync(docsUrl, 'utf8');
  const content = withoutTablePadding(docs);

  it('documents every event type, with its pattern', () => {
    for (const t of EVENT_TYPES) {
      assert.ok(content.includes(`| \`${t.type}\` |`), `${t.type} has no row: ${FIX}`);
      assert.ok(content.includes(`\`${t.pattern.replaceAll('|', '\\|')}\``), `${t.type}: pattern missing: ${FIX}`);
    }
  });

  it('documents every field', () => {
    for (const f of FIELDS) assert.ok(content.includes(`| \`${f.name}\` |`), `${f.name} has no row: ${FIX}`);
  });

  it('names the pinned vocabulary version', () => {
    assert.ok(docs.includes(VOCABULARY_VERSION), FIX);
  });

  it('has generated sections identical to what the catalogue generates now', async () => {
    const generator = await import(generatorUrl.href);
    const fresh = generator.updateGeneratedSections(docs);
    assert.equal(withoutTablePadding(fresh), withoutTablePadding(docs), `docs/events.md is stale: ${FIX}`);
  });
});
