/** The built-in rule pack: it compiles cleanly, its conventions hold, and every rule's tests pass. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { builtinRulesDir, compileSigma } from '@vigil/engine';
import { parseAllDocuments } from 'yaml';
import { type RulesCommandIo, rulesCommand, runRuleTestDirs } from './cli.js';
import { loadRuleSources } from './load.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function capture(): RulesCommandIo & { stdout: () => string; stderr: () => string } {
  let out = '';
  let err = '';
  return {
    out: (t) => {
      out += t;
    },
    err: (t) => {
      err += t;
    },
    now: () => Date.parse('2026-03-14T12:00:00Z'),
    stdout: () => out,
    stderr: () => err,
  };
}

describe('built-in rule pack', () => {
  it('compiles without a single problem', async () => {
    const sources = await loadRuleSources([builtinRulesDir()]);
    assert.ok(sources.length >= 10, 'the pack has its rule files');
    const { evaluators, errors } = compileSigma(sources);
    assert.deepEqual(errors, []);
    assert.ok(evaluators.length >= 30);
  });

  it('gives every alerting rule a UUID, a level, a description, a summary and the three tag families', async () => {
    for (const { source, text } of await loadRuleSources([builtinRulesDir()])) {
      for (const doc of parseAllDocuments(text) as { toJS(): Record<string, unknown> }[]) {
        const rule = doc.toJS();
        if (rule.id === undefined) {
          // A building block: referenced by name only, never alerting on its own.
          assert.match(
            String(rule.name),
            /^vigil_[a-z0-9_]+$/,
            `${source}: "${rule.title}" needs an id or a vigil_ name`,
          );
          continue;
        }
        const where = `${source}: ${rule.title}`;
        assert.match(String(rule.id), UUID, where);
        assert.ok(['informational', 'low', 'medium', 'high', 'critical'].includes(String(rule.level)), where);
        assert.ok(typeof rule.description === 'string' && rule.description.length > 40, where);
        assert.ok(Array.isArray(rule.falsepositives) && rule.falsepositives.length > 0, where);
        const vigil = rule.vigil as { summary?: string } | undefined;
        assert.ok(typeof vigil?.summary === 'string', `${where}: vigil.summary`);
        const tags = rule.tags as string[];
        assert.ok(
          tags.some((t) => /^owasp\.api([1-9]|10):20(19|23)$/.test(t)),
          `${where}: an owasp.apiN:YEAR tag`,
        );
        assert.ok(
          tags.some((t) => /^appsensor\.[A-Z]+\d+$/.test(t)),
          `${where}: an appsensor tag`,
        );
        assert.ok(
          tags.some((t) => /^attack\.t\d{4}(\.\d{3})?$/.test(t)),
          `${where}: an ATT&CK technique tag`,
        );
      }
    }
  });

  it('says what an identifier in a summary is: never a bare user id, which reads as a number ("15 was refused")', async () => {
    for (const { source, text } of await loadRuleSources([builtinRulesDir()])) {
      for (const doc of parseAllDocuments(text) as { toJS(): Record<string, unknown> }[]) {
        const summary = (doc.toJS().vigil as { summary?: string } | undefined)?.summary;
        if (summary === undefined) continue;
        assert.doesNotMatch(summary, /(^|[^\w\s]\s*)\{user\.id\}/, `${source}: "${summary}" needs "User" or "Account"`);
      }
    }
  });

  it('passes every rule test, and every alerting rule fires in at least one of them', async () => {
    const { results, problems } = await runRuleTestDirs([builtinRulesDir()]);
    assert.deepEqual(problems, []);
    const failed = results
      .filter((r) => !r.passed)
      .map((r) => `${r.source}:${r.line} ${r.name}: ${r.failures.join('; ')}`);
    assert.deepEqual(failed, []);
    const fired = new Set(results.flatMap((r) => r.detections.map((d) => d.ruleId)));
    const { evaluators } = compileSigma(await loadRuleSources([builtinRulesDir()]));
    const neverFired = evaluators.filter((e) => !fired.has(e.id)).map((e) => e.title);
    assert.deepEqual(neverFired, []);
    // Each rule file has a test file with at least one quiet case.
    const quietFiles = new Set(results.filter((r) => r.detections.length === 0).map((r) => r.source));
    const testFiles = new Set(results.map((r) => r.source));
    assert.deepEqual(
      [...testFiles].filter((f) => !quietFiles.has(f)),
      [],
    );
    assert.equal(testFiles.size, new Set(evaluators.map((e) => e.source)).size);
  });
});

describe('vigil rules', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-rules-cli-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('lint: the built-in pack is clean (exit 0)', async () => {
    const io = capture();
    assert.equal(await rulesCommand(['lint'], io), 0);
    assert.match(io.stdout(), /0 problems/);
  });

  it('lint: prints file:line: code: message and exits 1', async () => {
    writeFileSync(
      join(dir, 'broken.yml'),
      'title: Broken\nlogsource: {product: vigil}\ndetection:\n  condition: nothing\n',
    );
    const io = capture();
    assert.equal(await rulesCommand(['lint', dir], io), 1);
    assert.match(io.stdout(), /broken\.yml:\d+: invalid_\w+: /);
  });

  it('test: runs the built-in tests and prints the summary line', async () => {
    const io = capture();
    assert.equal(await rulesCommand(['test'], io), 0);
    assert.match(io.stdout(), /^\d+ passed, 0 failed$/m);
  });

  it('usage errors exit 2', async () => {
    assert.equal(await rulesCommand(['nope'], capture()), 2);
    assert.equal(await rulesCommand(['backtest'], capture()), 2);
    // The quickstart's alert comes from the built-in rule in code: said so, not "no rule".
    const io = capture();
    assert.equal(await rulesCommand(['backtest', 'vigil-authn-brute-force', '--data-dir', tmpdir()], io), 2);
    assert.match(io.stderr(), /is the built-in brute-force rule, written in code and set by detection\.bruteForce/);
  });
});
