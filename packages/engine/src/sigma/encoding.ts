/**
 * The encoding modifiers (modifiers appendix v2.0.0, "String Encoding"): `base64`, `base64offset` and the
 * `utf16le` / `utf16be` / `utf16` / `wide` sub-modifiers that choose the bytes base64 encodes.
 */

export type TextEncodingName = 'utf8' | 'utf16le' | 'utf16be' | 'utf16';

export function encodeText(text: string, encoding: TextEncodingName): Uint8Array {
  if (encoding === 'utf8') return new TextEncoder().encode(text);
  const bom = encoding === 'utf16' ? 2 : 0;
  const out = new Uint8Array(bom + text.length * 2);
  if (bom) {
    // The byte order mark in little-endian order, as the appendix's example shows (`FF FE 63 00 ...`).
    out[0] = 0xff;
    out[1] = 0xfe;
  }
  const bigEndian = encoding === 'utf16be';
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    const high = unit >> 8;
    const low = unit & 0xff;
    out[bom + i * 2] = bigEndian ? high : low;
    out[bom + i * 2 + 1] = bigEndian ? low : high;
  }
  return out;
}

/** Standard base64 with padding. Runs at compile time only, so simplicity beats speed here. */
export function base64(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/**
 * The three base64 forms `bytes` can take inside a longer base64 string, one per alignment (0, 1 or 2 bytes of
 * unknown data before it).
 *
 * Each base64 character encodes 6 bits. With `shift` unknown bytes in front, the first characters depend on those
 * bytes (none for shift 0; the first 2 characters for shift 1, as the second mixes both; the first 3 for shift 2)
 * and are dropped. At the end, when the total length is not a multiple of 3, the last real character also mixes in
 * whatever follows, so it is dropped with the padding: 3 characters for a remainder of 1, 2 for a remainder of 2.
 */
export function base64Offsets(bytes: Uint8Array): string[] {
  const dropStart = [0, 2, 3];
  const dropEnd = [0, 3, 2];
  const variants: string[] = [];
  for (let shift = 0; shift < 3; shift++) {
    const shifted = new Uint8Array(shift + bytes.length);
    shifted.set(bytes, shift);
    const encoded = base64(shifted);
    const end = encoded.length - dropEnd[(bytes.length + shift) % 3]!;
    variants.push(encoded.slice(dropStart[shift]!, end));
  }
  return variants;
}
