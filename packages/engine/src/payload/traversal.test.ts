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

  test('stripped separators, hex-spelt bytes, one-slash file URLs', () => {
    for (const value of [
      '.....web-inf/classes',
      '......etcshadow',
      'e:winntsystem32',
      'c:inetpubwwwroot',
      'app/web-infweb.xml',
      '0x2e0x2e0x5cboot.ini',
      '0x5c0x2e./',
      'file:/etc/hosts',
    ]) {
      assert.ok(fires(detectPathTraversal, value), value);
    }
  });

  test('servlet path parameters on a dot segment (`..;/`)', () => {
    for (const path of [
      '/app/..;/manager/html',
      '/api/..;/..;/admin/users',
      '/app/%2e%2e;/manager/html',
      '/app/..;jsessionid=1/manager/html',
    ]) {
      assert.ok(fires(detectPathTraversal, path, { location: 'path' }), path);
    }
    // `..;` is not a climb unless a separator ends the segment; ellipses before a semicolon are prose.
    for (const value of ['/app/x..;y', 'wait..; then go', 'a..;b/c']) {
      assert.equal(fires(detectPathTraversal, value, { location: 'query' }), false, value);
    }
  });

  test('hidden files and folders in a request path', () => {
    for (const path of ['/.git/HEAD', '/.vscode/settings.json', '/static/.npmrc', '/.aws/credentials']) {
      assert.ok(fires(detectPathTraversal, path, { location: 'path' }), path);
    }
    for (const path of ['/.well-known/security.txt', '/api/config/session', '/css/site.min.css']) {
      assert.equal(fires(detectPathTraversal, path, { location: 'path' }), false, path);
    }
    // Outside the path, a dot-name is an ordinary value (a file name in a form, a config key).
    assert.equal(fires(detectPathTraversal, '.vscode/settings.json', { location: 'query' }), false);
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
      'D:\\Projects\\windows-app\\README.md',
      'wait....what',
      'hex 0x2e means a dot',
      'see file: /home/me/report.txt',
    ]) {
      assert.equal(fires(detectPathTraversal, value), false, value);
    }
  });
});
