import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { base64, base64Offsets, encodeText } from './encoding.js';

describe('encoding modifiers', () => {
  it('encodes UTF-16 as the appendix shows', () => {
    assert.deepEqual([...encodeText('cmd', 'utf16le')], [0x63, 0, 0x6d, 0, 0x64, 0]);
    assert.deepEqual([...encodeText('cmd', 'utf16be')], [0, 0x63, 0, 0x6d, 0, 0x64]);
    assert.deepEqual([...encodeText('cmd', 'utf16')], [0xff, 0xfe, 0x63, 0, 0x6d, 0, 0x64, 0]);
  });

  it('encodes base64 with padding', () => {
    assert.equal(base64(encodeText('cmd', 'utf8')), 'Y21k');
    assert.equal(base64(encodeText('ab', 'utf8')), 'YWI=');
  });

  it('base64offset finds the value at every alignment inside longer encoded text', () => {
    for (const value of ['whoami', '/bin/sh -c', 'ab', 'abcd']) {
      const variants = base64Offsets(encodeText(value, 'utf8'));
      assert.equal(variants.length, 3);
      for (const prefix of ['', 'x', 'xy', 'xyz', 'hello ']) {
        for (const suffix of ['', '!', '!!', ' tail']) {
          const encoded = Buffer.from(prefix + value + suffix).toString('base64');
          assert.ok(
            variants.some((v) => encoded.includes(v)),
            `${JSON.stringify(prefix + value + suffix)} → ${encoded} should contain one of ${variants}`,
          );
        }
      }
    }
  });
});
