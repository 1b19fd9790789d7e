import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fires } from './test-helpers.js';
import { detectPathTraversal } from './traversal.js';

describe('detectPathTraversal', () => {
  test('dot segments, encodings, sensitive files, stream wrappers', () => {
    for (const value of [
      '../../etc/passwd',
      '/docs/../x',
      '..\\..\\windows\\win.ini',
      '%2e%2e%2f%2e%2e%2fetc%2fpasswd',
      '%252e%252e%252fboot.ini',
      '%c0%ae%c0%ae/%c0%ae%c0%ae/etc/shadow',
      '....//....//etc/hosts',
      '/..0x2f..0x2f..0x2fetc/passwd',
      '/etc/passwd',
      'php://filter/convert.base64-encode/resource=index.php',
      'file:///etc/passwd',
      '..',
      'WEB-INF/web.xml',
    ]) {
      assert.ok(fires(detectPathTraversal, value), value);
    }
  });

  test('benign look-alikes do not fire', () => {
    for (const value of [
      'v1.2..1.4',
      'wait...',
      'Loading... please wait',
      'see <a href="../">parent</a> page',
      '/docs/guide/intro',
      'jane.doe@example.com',
      'https://example.com/a/b',
      'C:/Users/me/notes.txt',
    ]) {
      assert.equal(fires(detectPathTraversal, value), false, value);
    }
  });
});
