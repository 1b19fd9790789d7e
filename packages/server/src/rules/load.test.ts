import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadRuleSources, loadRules } from './load.js';

const GOOD = `title: Good rule
id: good-rule
logsource: {product: vigil, service: authn_login_fail}
detection: {selection: {user.id: alice}, condition: selection}
`;

const BAD = `title: Bad rule
id: bad-rule
logsource: {product: vigil}
detection:
  selection:
    user.id|nosuchmodifier: alice
  condition: selection
`;

describe('rule loading', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-rules-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'tests'));
  mkdirSync(join(dir, 'nested'));
  writeFileSync(join(dir, 'good.yml'), GOOD);
  writeFileSync(join(dir, 'nested', 'bad.yaml'), BAD);
  writeFileSync(join(dir, 'tests', 'good.test.yaml'), 'cases: []\n');
  writeFileSync(join(dir, 'notes.txt'), 'not a rule');

  it('reads *.yml and *.yaml recursively, skipping tests/ and other files', async () => {
    const sources = await loadRuleSources([dir]);
    assert.deepEqual(
      sources.map((s) => s.source),
      [join(dir, 'good.yml'), join(dir, 'nested', 'bad.yaml')],
    );
    assert.equal(sources[0]!.text, GOOD);
  });

  it('follows symbolic links as a ConfigMap mount has them, hidden ..data once, and a link to a parent once', async () => {
    const mount = mkdtempSync(join(tmpdir(), 'vigil-configmap-'));
    try {
      // Kubernetes: ..2026_11_27/ holds the files, ..data -> it, and each file name -> ..data/<name>.
      mkdirSync(join(mount, '..2026_11_27'));
      writeFileSync(join(mount, '..2026_11_27', 'crash.yml'), GOOD);
      symlinkSync('..2026_11_27', join(mount, '..data'));
      symlinkSync(join('..data', 'crash.yml'), join(mount, 'crash.yml'));
      symlinkSync('.', join(mount, 'loop'));
      const sources = await loadRuleSources([mount]);
      assert.deepEqual(
        sources.map((s) => s.source),
        [join(mount, 'crash.yml')],
      );
    } finally {
      rmSync(mount, { recursive: true, force: true });
    }
  });

  it('compiles the good rules and reports the bad one with its file and line', async () => {
    const { evaluators, errors } = await loadRules([dir]);
    assert.deepEqual(
      evaluators.map((e) => e.id),
      ['good-rule'],
    );
    assert.equal(errors.length, 1);
    assert.equal(errors[0]!.source, join(dir, 'nested', 'bad.yaml'));
    assert.equal(errors[0]!.line, 6);
    assert.match(errors[0]!.message, /nosuchmodifier/);
  });

  it('fails on a directory that does not exist', async () => {
    await assert.rejects(loadRuleSources([join(dir, 'missing')]), { code: 'ENOENT' });
  });
});
