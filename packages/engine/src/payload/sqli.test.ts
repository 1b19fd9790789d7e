import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { detectSqli } from './sqli.js';
import { fires } from './test-helpers.js';

describe('detectSqli', () => {
  test('breakouts, tautologies, unions, stacked queries, time-based calls', () => {
    for (const value of [
      "1' OR '1'='1",
      "admin'--",
      "x') or ('a'='a",
      '1 or 1=1',
      '-1 UNION ALL SELECT null,table_name FROM information_schema.tables',
      '1; DROP TABLE users--',
      "1' AND SLEEP(5)#",
      "'; WAITFOR DELAY '0:0:5'--",
      '1) and (select 1 from pg_sleep(5))--',
      "1' and extractvalue(1,concat(0x7e,version()))--",
      'x" or "a"="a',
      "1'||(select 'x' from dual)||'",
    ]) {
      assert.ok(fires(detectSqli, value), value);
    }
  });

  test('obfuscation: encoding, comments inside keywords, case, whitespace substitutes', () => {
    for (const value of [
      '1%27%20or%20%271%27%3D%271',
      '1%2527%2520or%25201%253D1--',
      '-1 UN/**/ION SE/**/LECT 1,2',
      '-1 /*!50000UnIoN*/ /*!50000SeLeCt*/ 1,2',
      "1'\tOR\n1=1--",
      '1+union+all+select+1,2',
      '1&#39; or &#39;1&#39;=&#39;1',
      btoa("' or 1=1 --"),
    ]) {
      assert.ok(fires(detectSqli, value, { location: 'query' }), value);
    }
  });

  test('"select" opening a sentence is no statement; a select list is', () => {
    for (const value of [
      'Select **all** that apply',
      'Select (optional) a color',
      'Select 2 items to compare',
      'Select all items',
      'Select: the best one',
      'Select *one* option',
      'select 1 of the 3 options',
    ]) {
      assert.equal(fires(detectSqli, value, { location: 'query' }), false, value);
    }
    for (const value of [
      'select * from users',
      'SELECT password FROM users WHERE 1=1',
      'select(1)from dual',
      'select 1,2,3',
      'select @@version',
      'select count(*) c from t',
      'select [password] from users',
      '1 DIV(SELECT ORD(LEFT',
      '1;select 2 items',
    ]) {
      assert.ok(fires(detectSqli, value, { location: 'query' }), value);
    }
  });

  test('inequalities between numbers are arithmetic; boolean-based injections still fire', () => {
    assert.equal(fires(detectSqli, '5 > 3 and 2 < 4', { location: 'body' }), false);
    assert.equal(fires(detectSqli, '5+%3E+3+and+2+%3C+4', { location: 'query' }), false);
    for (const value of ['1 and 1=1', "' and 2>1--", '1 or 2 = 3', '1 and 2>1', '5 > 3 and 2 < 4 --', '1=1 and 2=2']) {
      assert.ok(fires(detectSqli, value, { location: 'query' }), value);
    }
  });

  test('benign look-alikes do not fire', () => {
    for (const value of [
      "O'Brien",
      "Y'all come back now",
      'select a plan',
      'Select your seat from the map',
      '1 + 1',
      '1 and 1/2 inch',
      'this or that',
      'Tom & Jerry',
      'card is 4 and a half by 5',
      'rock and roll -- live',
      "it's 5 o'clock",
      'jane.doe@example.com',
      'order by date',
      '{"name":"x","tags":["a","b"]}',
      '3f2504e0-4f89-11d3-9a0c-0305e82c3301',
      'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc--def',
    ]) {
      assert.equal(fires(detectSqli, value), false, value);
    }
  });
});
