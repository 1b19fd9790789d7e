/**
 * What a validation library says about rejected input, reduced to what an `input_validation_fail` event may carry:
 * which inputs failed (paths such as `body.items.0.sku`) and which rules they broke (`format`, `too_small`).
 * Never the library's messages or the values: both hold the input itself (zod's "expected 'a' | 'b', received
 * 'x'", valibot's `input`, joi's `context.value`).
 *
 * Recognised by shape, so no validation library is imported:
 * - Fastify schema errors (`error.validation`, `error.validationContext`: ajv errors of one part of the request);
 * - zod: a `ZodError`, or a failed `safeParse` result (`{ success: false, error }`);
 * - valibot: a `ValiError`, or a failed `safeParse` result (`{ success: false, issues }`);
 * - ajv: a validate function after a failed call, its `errors` array, or an `Ajv.ValidationError` (ajv 6 and 8);
 * - joi: a `ValidationError` (`details`), or a result holding one (`{ error }`);
 * - class-validator: the `ValidationError[]` of `validate()` (what NestJS's `ValidationPipe` gets);
 * - express-validator: `validationResult(req)`, or its `array()`;
 * - celebrate: its `CelebrateError` (joi errors by part of the request);
 * - a body its parser could not read (Fastify's JSON errors, body-parser's `entity.parse.failed`).
 */
import { Field } from '@vigil/schema';

export interface ValidationFailure {
  /**
   * `fastify`, `zod`, `valibot`, `ajv`, `joi`, `class-validator`, `express-validator`, `body-parser`, `hono` or
   * `json` (a JSON parser's SyntaxError).
   */
  readonly validator: string;
  /** Paths of the inputs that failed, in the validator's order, without repeats; `(root)` for the input as a whole. */
  readonly inputs: readonly string[];
  /** Names of the rules broken, without repeats. */
  readonly rules: readonly string[];
}

const MAX_INPUTS = 16;
const MAX_RULES = 16;
const MAX_NAME_CHARS = 128;
const MAX_RULE_CHARS = 64;
const ROOT = '(root)';

type Obj = Record<string, unknown>;

const asObject = (value: unknown): Obj | undefined =>
  (typeof value === 'object' || typeof value === 'function') && value !== null ? (value as Obj) : undefined;

/** Parts of a request as Fastify and express-validator name them, under the names the SDK's inspection uses. */
const REQUEST_PARTS: Readonly<Record<string, string>> = {
  body: 'body',
  querystring: 'query',
  query: 'query',
  params: 'path',
  headers: 'header',
  cookies: 'cookie',
};

/** Collects inputs and rules without repeats, up to their bounds. */
class Collector {
  private readonly inputs = new Set<string>();
  private readonly rules = new Set<string>();

  constructor(private readonly prefix = '') {}

  add(path: readonly unknown[], rule: unknown): void {
    const parts: string[] = [];
    for (const part of path) {
      if (typeof part === 'string' || typeof part === 'number') parts.push(String(part));
    }
    const joined = parts.join('.');
    const name = this.prefix && joined ? `${this.prefix}.${joined}` : this.prefix || joined || ROOT;
    if (this.inputs.size < MAX_INPUTS) this.inputs.add(name.slice(0, MAX_NAME_CHARS));
    if (typeof rule === 'string' && rule.length > 0 && this.rules.size < MAX_RULES) {
      this.rules.add(rule.slice(0, MAX_RULE_CHARS));
    }
  }

  result(validator: string): ValidationFailure | undefined {
    if (this.inputs.size === 0) return undefined;
    return { validator, inputs: [...this.inputs], rules: [...this.rules] };
  }
}

/** An ajv error's path: `instancePath` (ajv 8, a JSON pointer) or `dataPath` (ajv 6, `.a[0].b`). */
function ajvPath(error: Obj): string[] {
  const path: string[] = [];
  if (typeof error.instancePath === 'string') {
    for (const token of error.instancePath.split('/').slice(1))
      path.push(token.replace(/~1/g, '/').replace(/~0/g, '~'));
  } else if (typeof error.dataPath === 'string') {
    for (const token of error.dataPath.split(/[.[\]]/)) if (token !== '') path.push(token.replace(/^'(.*)'$/, '$1'));
  }
  // The property a `required` or `additionalProperties` error is about is a parameter, not part of the path.
  const params = asObject(error.params);
  const named = params?.missingProperty ?? params?.additionalProperty;
  if (typeof named === 'string') path.push(named.replace(/^\./, ''));
  return path;
}

const isAjvError = (value: unknown): boolean => {
  const e = asObject(value);
  return e !== undefined && typeof e.keyword === 'string' && ('instancePath' in e || 'dataPath' in e);
};

function fromAjv(errors: readonly unknown[], validator: string, prefix?: string): ValidationFailure | undefined {
  const out = new Collector(prefix);
  for (const error of errors) {
    const e = asObject(error);
    if (e && typeof e.keyword === 'string') out.add(ajvPath(e), e.keyword);
  }
  return out.result(validator);
}

/** What stands in a path for a key that failed validation. */
const KEY = '(key)';

/** A zod or valibot issue list (valibot issues have `kind` and `type`, its path entries `{ key }`). */
function fromIssues(issues: readonly unknown[], name: unknown): ValidationFailure | undefined {
  const first = asObject(issues[0]);
  const valibot = name === 'ValiError' || (first !== undefined && 'kind' in first && typeof first.type === 'string');
  const out = new Collector();
  for (const issue of issues) {
    const i = asObject(issue);
    if (!i) continue;
    // A key that failed its own rule (a record's or map's: zod's `invalid_key`, valibot's path item of origin `key`)
    // is the rejected input itself: it stands as `(key)`, never as what was sent.
    const path = Array.isArray(i.path)
      ? i.path.map((p, n, all) => {
          if (valibot) return asObject(p)?.origin === 'key' ? KEY : asObject(p)?.key;
          return i.code === 'invalid_key' && n === all.length - 1 ? KEY : p;
        })
      : [];
    out.add(path, valibot ? i.type : i.code);
  }
  return out.result(valibot ? 'valibot' : 'zod');
}

/** class-validator's errors: `{ property, constraints, children }`, nested for nested objects. */
function fromClassValidator(errors: readonly unknown[]): ValidationFailure | undefined {
  const out = new Collector();
  const walk = (list: readonly unknown[], path: string[], depth: number) => {
    for (const error of list) {
      const e = asObject(error);
      if (!e || typeof e.property !== 'string') continue;
      const here = [...path, e.property];
      const constraints = asObject(e.constraints);
      if (constraints) for (const rule of Object.keys(constraints)) out.add(here, rule);
      if (Array.isArray(e.children) && e.children.length > 0 && depth < 8) walk(e.children, here, depth + 1);
      else if (!constraints) out.add(here, undefined);
    }
  };
  walk(errors, [], 0);
  return out.result('class-validator');
}

const isClassValidatorError = (value: unknown): boolean => {
  const e = asObject(value);
  return e !== undefined && typeof e.property === 'string' && ('constraints' in e || 'children' in e);
};

/** express-validator's field errors: `{ type: 'field', location, path }` (`param` before version 7). */
const isExpressValidatorFieldError = (value: unknown): boolean => {
  const e = asObject(value);
  return (
    e !== undefined && typeof e.location === 'string' && (typeof e.path === 'string' || typeof e.param === 'string')
  );
};

/**
 * Any of express-validator's errors: a field error, `oneOf`'s `alternative` / `alternative_grouped` (the field errors
 * of each alternative in `nestedErrors`), or `checkExact`'s `unknown_fields` (the fields in `fields`).
 */
const isExpressValidatorError = (value: unknown): boolean => {
  const e = asObject(value);
  if (e === undefined) return false;
  if (e.type === 'alternative' || e.type === 'alternative_grouped') return Array.isArray(e.nestedErrors);
  if (e.type === 'unknown_fields') return Array.isArray(e.fields);
  return isExpressValidatorFieldError(e);
};

function fromExpressValidator(errors: readonly unknown[]): ValidationFailure | undefined {
  const out = new Collector();
  const add = (error: unknown, rule: string | undefined): void => {
    if (!isExpressValidatorFieldError(error)) return;
    const e = error as Obj;
    const path = String(e.path ?? e.param)
      .split(/[.[\]]/)
      .filter((part) => part !== '');
    out.add([REQUEST_PARTS[e.location as string] ?? e.location, ...path], rule);
  };
  for (const error of errors) {
    const e = asObject(error);
    if (e === undefined) continue;
    if (e.type === 'alternative' || e.type === 'alternative_grouped') {
      for (const nested of (e.nestedErrors as unknown[]).flat()) add(nested, undefined);
    } else if (e.type === 'unknown_fields') {
      // Its own kind of failure, named by its type (a fixed word, unlike messages).
      for (const field of e.fields as unknown[]) add(field, 'unknown_fields');
    } else {
      // No rule names: its messages are free text the app chose (`withMessage`), which may quote the input.
      add(e, undefined);
    }
  }
  return out.result('express-validator');
}

function addJoiDetails(out: Collector, details: readonly unknown[], prefix: readonly string[]): void {
  for (const detail of details) {
    const d = asObject(detail);
    if (d) out.add([...prefix, ...(Array.isArray(d.path) ? d.path : [])], d.type);
  }
}

/**
 * A body its parser could not read: Fastify's errors for a malformed or empty JSON body, hono/validator's
 * `HTTPException` for a malformed JSON or form body, body-parser's (Express) `entity.parse.failed`, and a JSON
 * parser's `SyntaxError` marked as a client error (status 400), as Fastify 4 and co-body (Koa's body parsers) pass
 * it on. Malformed input is what fuzzers send, so it counts as input that failed validation.
 */
function malformedBody(v: Obj): ValidationFailure | undefined {
  if (v.code === 'FST_ERR_CTP_INVALID_JSON_BODY') return { validator: 'fastify', inputs: ['body'], rules: ['json'] };
  // hono/validator (and the validators built on it) throw an HTTPException 400 with a fixed message.
  if (v.status === 400 && typeof v.message === 'string' && v.message.startsWith('Malformed ')) {
    if (v.message.startsWith('Malformed JSON')) return { validator: 'hono', inputs: ['body'], rules: ['json'] };
    if (v.message.startsWith('Malformed FormData')) return { validator: 'hono', inputs: ['body'], rules: ['form'] };
  }
  if (v.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') return { validator: 'fastify', inputs: ['body'], rules: ['empty'] };
  if (v.type === 'entity.parse.failed') return { validator: 'body-parser', inputs: ['body'], rules: ['parse'] };
  if (v instanceof SyntaxError && (v.statusCode === 400 || v.status === 400)) {
    return { validator: 'json', inputs: ['body'], rules: ['parse'] };
  }
  return undefined;
}

/**
 * The validation failure `value` describes, or undefined when it is not one this module recognises (see the top of
 * the file). Never throws on odd input.
 */
export function validationFailure(value: unknown): ValidationFailure | undefined {
  return recognise(value, 0);
}

function recognise(value: unknown, depth: number): ValidationFailure | undefined {
  const v = asObject(value);
  if (v === undefined || depth > 2) return undefined;
  try {
    if (Array.isArray(v)) {
      if (v.length === 0) return undefined;
      if (isAjvError(v[0])) return fromAjv(v, 'ajv');
      if (isClassValidatorError(v[0])) return fromClassValidator(v);
      if (v.some(isExpressValidatorError)) return fromExpressValidator(v);
      return undefined;
    }
    if (Array.isArray(v.validation) && typeof v.validationContext === 'string') {
      return fromAjv(v.validation, 'fastify', REQUEST_PARTS[v.validationContext] ?? v.validationContext);
    }
    if (Array.isArray(v.issues) && v.issues.length > 0) return fromIssues(v.issues, v.name);
    if (Array.isArray(v.details) && (v.isJoi === true || v.name === 'ValidationError')) {
      const out = new Collector();
      addJoiDetails(out, v.details, []);
      return out.result('joi');
    }
    // celebrate (joi for Express): a joi error per part of the request.
    if (v.details instanceof Map) {
      const out = new Collector();
      for (const [part, error] of v.details) {
        const details = asObject(error)?.details;
        if (typeof part === 'string' && Array.isArray(details))
          addJoiDetails(out, details, [REQUEST_PARTS[part] ?? part]);
      }
      return out.result('joi');
    }
    const malformed = malformedBody(v);
    if (malformed) return malformed;
    if (Array.isArray(v.errors) && v.errors.length > 0) {
      if (isAjvError(v.errors[0])) return fromAjv(v.errors, 'ajv');
      if (v.errors.some(isExpressValidatorError)) return fromExpressValidator(v.errors);
    }
    // A failed result object: zod's and joi's hold the error.
    if (v.error !== undefined && v.error !== null) return recognise(v.error, depth + 1);
  } catch {
    return undefined; // a getter of the app's object threw: not recognised
  }
  return undefined;
}

/** The fields of an `input_validation_fail` event describing `failure`. */
export function validationFields(failure: ValidationFailure): Record<string, unknown> {
  return {
    [Field.inputName]: failure.inputs[0],
    [Field.inputNames]: [...failure.inputs],
    [Field.validationName]: failure.validator,
    ...(failure.rules.length > 0 ? { [Field.validationRules]: [...failure.rules] } : {}),
  };
}
