/**
 * Installing the SDK into an app that lives outside this repository, as docs/sdk.md says: `npm pack` of
 * @vigil/schema and @vigil/sdk, then `npm install` of the two tarballs, offline (they need nothing else). The app then
 * loads the SDK with `require` and with `import`, and records an event.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
// `npm test` runs with npm's own path in the environment; run directly, npm is found on the PATH.
const NPM = process.env.npm_execpath
  ? { command: process.execPath, prefix: [process.env.npm_execpath] }
  : { command: 'npm', prefix: [] };
const npm = (args: string[], cwd: string) =>
  run(NPM.command, [...NPM.prefix, ...args], { cwd, env: { ...process.env, npm_config_update_notifier: 'false' } });

interface Packed {
  readonly name: string;
  readonly filename: string;
  readonly files: ReadonlyArray<{ readonly path: string }>;
}

let dir: string;
let packed: Packed[];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vigil-install-'));
  const { stdout } = await npm(
    ['pack', '--json', '--workspace', 'packages/schema', '--workspace', 'packages/sdk', '--pack-destination', dir],
    ROOT,
  );
  packed = JSON.parse(stdout) as Packed[];
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('the tarballs hold both builds and their types, and no tests', async () => {
  assert.deepEqual(packed.map((p) => p.name).sort(), ['@vigil/schema', '@vigil/sdk']);
  for (const { name, files } of packed) {
    const paths = files.map((f) => f.path);
    for (const path of ['dist/index.js', 'dist/index.d.ts', 'cjs/index.js', 'cjs/index.d.ts', 'cjs/package.json']) {
      assert.ok(paths.includes(path), `${name} ships ${path}`);
    }
    assert.deepEqual(
      paths.filter((p) => /\.test\.|\/testing\/|tsbuildinfo/.test(p)),
      [],
      `${name} ships no tests`,
    );
  }
});

test('an app outside the repository installs the tarballs offline and uses the SDK with require and import', async () => {
  const app = join(dir, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'outside-app', private: true }));
  const tarballs = packed.map((p) => join(dir, p.filename));
  await npm(['install', '--offline', '--no-audit', '--no-fund', ...tarballs], app);
  const script = (load: string) => `
    ${load}
    const vigil = createVigil({ mode: 'stdout', service: 'outside-app' });
    vigil.authz.fail('u-1', 'invoice-7');
    vigil.close();
  `;
  const required = await run(process.execPath, ['-e', script("const { createVigil } = require('@vigil/sdk');")], {
    cwd: app,
  });
  const imported = await run(
    process.execPath,
    ['--input-type=module', '-e', script("import { createVigil } from '@vigil/sdk';")],
    { cwd: app },
  );
  for (const { stdout } of [required, imported]) {
    const event = JSON.parse(stdout.trim()) as Record<string, unknown>;
    assert.equal(event.type, 'authz_fail');
    assert.equal(event['service.name'], 'outside-app');
    assert.equal(event.event, 'authz_fail:u-1,invoice-7');
  }
  // Every entry point resolves from the installed package, and so does its package.json.
  const { stdout } = await run(
    process.execPath,
    [
      '-e',
      "for (const s of ['express', 'fastify', 'koa', 'hono', 'node', 'enforce', 'testing']) require('@vigil/sdk/' + s); console.log(require('@vigil/sdk/package.json').name)",
    ],
    { cwd: app },
  );
  assert.equal(stdout.trim(), '@vigil/sdk', 'and its package.json, which tools read for the version');
});
