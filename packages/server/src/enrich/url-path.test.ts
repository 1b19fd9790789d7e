import assert from 'node:assert/strict';
import { createReadStream, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { SecurityEvent } from '@vigil/schema';
import { analyze } from '../analyze/analyze.js';
import { buildConfig } from '../config.js';
import { tempDir } from '../testing/harness.js';
import { applyStages } from './stage.js';
import { createUrlPathStage, normalisePath } from './url-path.js';

test('escapes of letters, digits and -._~ are decoded; the others stay, in upper case', () => {
  const cases: [string, string][] = [
    ['/%61dmin', '/admin'],
    ['/%2Eenv', '/.env'],
    ['/%2e%67it/config', '/.git/config'],
    ['/users/%34%37%31%31', '/users/4711'],
    ['/a%2Db%5Fc%7Ed', '/a-b_c~d'],
    // Separators, delimiters and bytes beyond ASCII keep their escape: decoded, they would mean something else.
    ['/files/a%2fb', '/files/a%2Fb'],
    ['/q%3fx%23y%25', '/q%3Fx%23y%25'],
    ['/caf%c3%a9', '/caf%C3%A9'],
    ['/%2e%2e/%2e%2e/etc/passwd', '/../../etc/passwd'],
    // Not escapes: left as they are.
    ['/100%', '/100%'],
    ['/%zz/%4', '/%zz/%4'],
    // Decoded once, as a server does: a double escape is one escape after it.
    ['/%2561dmin', '/%2561dmin'],
  ];
  for (const [raw, normal] of cases) assert.equal(normalisePath(raw), normal, raw);
});

const event = (attributes: Record<string, string | number>): SecurityEvent => ({
  id: 'e1',
  time: Date.UTC(2026, 10, 2),
  type: 'http_request',
  attributes,
});

test('the stage writes the normal form to url.path and keeps the path as sent in url.original', () => {
  const stage = createUrlPathStage();
  const plain = event({ 'url.path': '/users/7' });
  assert.equal(applyStages([stage], plain), plain, 'a path in normal form is left alone');
  const sent = applyStages([stage], event({ 'url.path': '/%2Eenv' }));
  assert.equal(sent.attributes['url.path'], '/.env');
  assert.equal(sent.attributes['url.original'], '/%2Eenv');
  const own = applyStages([stage], event({ 'url.path': '/%61dmin', 'url.original': 'https://api.example/%61dmin' }));
  assert.equal(own.attributes['url.path'], '/admin');
  assert.equal(own.attributes['url.original'], 'https://api.example/%61dmin', "a sender's url.original stays");
});

test('a sensitive file requested with escapes is reported as the same file', async () => {
  const dir = tempDir();
  const file = join(dir, 'access.log');
  const line = (path: string, second: number) =>
    `203.0.113.9 - - [02/Nov/2026:10:00:${String(second).padStart(2, '0')} +0000] "GET ${path} HTTP/1.1" 200 310 "-" "curl/8.5.0"`;
  writeFileSync(file, `${[line('/%2Eenv', 1), line('/%2e%67it/config', 2)].join('\n')}\n`);
  const result = await analyze([{ name: file, open: () => createReadStream(file) }], {
    config: buildConfig({}, { VIGIL_DATA_DIR: dir }),
    format: 'combined',
  });
  const served = result.alerts.filter((a) => a.rule.title === 'Sensitive file served');
  assert.deepEqual(served.map((a) => a.labels['url.path']).sort(), ['/.env', '/.git/config']);
});
