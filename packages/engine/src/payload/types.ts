/**
 * Shared types of payload detection: the attack classes, where a value came from, and what a detector reports.
 */

/** The attack classes Vigil recognises in request values, by their stable names (used in `vigil.payload.classes`). */
export const PAYLOAD_CLASSES = [
  'cmdi',
  'crlf',
  'jndi',
  'nosqli',
  'path_traversal',
  'proto_pollution',
  'sqli',
  'ssrf',
  'xss',
] as const;

export type PayloadClass = (typeof PAYLOAD_CLASSES)[number];

/** Where in the request a value was found. */
export type PayloadLocation = 'path' | 'query' | 'body' | 'header';

export interface PayloadContext {
  /** Name of the parameter, header or body field the value belongs to (`id`, `user.name`, `x-forwarded-host`). */
  readonly key?: string;
  readonly location?: PayloadLocation;
}

export interface PayloadFinding {
  readonly class: PayloadClass;
  /** 0..1: how sure the detector is that this is an attack of that class rather than an odd but benign value. */
  readonly confidence: number;
  /** A short, neutralised excerpt of the decoded value around what matched: safe to log and show. */
  readonly evidence: string;
}

/**
 * What every detector receives: the raw value and its decoded forms (see decode.ts), the raw one first. Detectors
 * look at each form; they never decode again, so the work per value stays bounded by the decoder's caps.
 */
export interface DetectorInput {
  readonly forms: readonly string[];
  readonly key?: string;
  readonly location?: PayloadLocation;
}

export type Detector = (input: DetectorInput) => PayloadFinding | undefined;
