/** Test helpers for the payload detectors: run a detector on a value decoded as detectPayload would. */
import { decodeForms } from './decode.js';
import type { Detector, PayloadContext } from './types.js';

export function fires(detector: Detector, value: string, context: PayloadContext = {}): boolean {
  return (
    detector({ forms: decodeForms(value, { plusAsSpace: context.location === 'query' }), ...context }) !== undefined
  );
}
