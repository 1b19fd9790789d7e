/**
 * A small, stable, non-cryptographic string hash (FNV-1a, two 32-bit lanes → 16 hex digits) for identifying rule
 * definitions. It only needs to tell "same definition" from "changed definition".
 */
export function stableHash(text: string): string {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
  }
  return (a >>> 0).toString(16).padStart(8, '0') + (b >>> 0).toString(16).padStart(8, '0');
}

/** JSON with object keys sorted, so two equal definitions serialise the same. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value as object)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** Finite numbers pass; ±Infinity and NaN (not representable in JSON) become null, and back to -Infinity. */
export const toJsonNumber = (n: number): number | null => (Number.isFinite(n) ? n : null);
export const fromJsonNumber = (n: unknown): number => (typeof n === 'number' ? n : Number.NEGATIVE_INFINITY);
