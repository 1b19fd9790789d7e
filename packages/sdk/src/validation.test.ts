// Every validator here is the real library, producing its own errors; nothing is built by hand.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { Ajv } from 'ajv';
import { celebrate, Segments } from 'celebrate';
import * as classValidator from 'class-validator';
import express from 'express';
import { body, checkExact, oneOf, query, type Result, validationResult } from 'express-validator';
import Fastify from 'fastify';
import Joi from 'joi';
import * as v from 'valibot';
import { z } from 'zod';
import { validationFailure, validationFields } from './validation.js';

/** Values and messages the validators were given or produced: none may come back out. */
const SECRET_VALUE = 'hunter2-secret-value';

/** The error `JSON.parse` throws for a malformed text. */
function captureSyntaxError(): SyntaxError {
  try {
    JSON.parse('{"a": oops');
  } catch (error) {
    return error as SyntaxError;
  }
  throw new Error('JSON.parse accepted a malformed text');
}

/** express-validator's result for one JSON POST through a real Express app running `chains`. */
async function expressValidatorResult(
  chains: express.RequestHandler[],
  query: string,
  json: unknown,
): Promise<Result | undefined> {
  const app = express();
  app.use(express.json());
  let result: Result | undefined;
  app.post('/submit', ...chains, (req: express.Request, res: express.Response) => {
    result = validationResult(req);
    res.status(400).end();
  });
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await fetch(`http://127.0.0.1:${port}/submit${query}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(json),
  });
  server.close();
  return result;
}

describe('validationFailure', () => {
  it('zod: a thrown ZodError and a failed safeParse give paths and issue codes', () => {
    const schema = z.object({
      email: z.string().email(),
      items: z.array(z.object({ sku: z.string(), quantity: z.number().min(1) })),
      plan: z.enum(['free', 'pro']),
    });
    const input = { email: SECRET_VALUE, items: [{ sku: 'A', quantity: 0 }], plan: SECRET_VALUE };
    const result = schema.safeParse(input);
    assert.equal(result.success, false);
    const expected = {
      validator: 'zod',
      inputs: ['email', 'items.0.quantity', 'plan'],
      rules: ['invalid_format', 'too_small', 'invalid_value'],
    };
    assert.deepEqual(validationFailure(result), expected);
    let thrown: unknown;
    try {
      schema.parse(input);
    } catch (error) {
      thrown = error;
    }
    assert.deepEqual(validationFailure(thrown), expected);
    assert.ok(!JSON.stringify(validationFields(expected)).includes(SECRET_VALUE));
  });

  it('valibot: a ValiError and a failed safeParse give paths and issue types', () => {
    const schema = v.object({
      email: v.pipe(v.string(), v.email()),
      address: v.object({ city: v.pipe(v.string(), v.minLength(2)) }),
    });
    const input = { email: SECRET_VALUE, address: { city: 'x' } };
    const expected = { validator: 'valibot', inputs: ['email', 'address.city'], rules: ['email', 'min_length'] };
    assert.deepEqual(validationFailure(v.safeParse(schema, input, { abortEarly: false })), expected);
    let thrown: unknown;
    try {
      v.parse(schema, input);
    } catch (error) {
      thrown = error;
    }
    assert.deepEqual(validationFailure(thrown), expected);
  });

  it('ajv: the validate function, its errors, required and additional properties named', () => {
    const ajv = new Ajv({ allErrors: true });
    const validate = ajv.compile({
      type: 'object',
      required: ['email'],
      properties: { items: { type: 'array', items: { type: 'object', properties: { n: { minimum: 1 } } } } },
      additionalProperties: false,
    });
    assert.equal(validate({ items: [{ n: 0 }], 'a/b': SECRET_VALUE }), false);
    const expected = {
      validator: 'ajv',
      inputs: ['email', 'a/b', 'items.0.n'],
      rules: ['required', 'additionalProperties', 'minimum'],
    };
    assert.deepEqual(validationFailure(validate), expected);
    assert.deepEqual(validationFailure(validate.errors), expected);
  });

  it('ajv 6 paths (dataPath) are read too', () => {
    const errors = [{ keyword: 'type', dataPath: ".items[0]['sku']", schemaPath: '#/x', params: {} }];
    assert.deepEqual(validationFailure(errors), { validator: 'ajv', inputs: ['items.0.sku'], rules: ['type'] });
  });

  it('joi: a ValidationError and a result holding one', () => {
    const schema = Joi.object({ email: Joi.string().email(), tags: Joi.array().items(Joi.string().max(3)) });
    const result = schema.validate({ email: SECRET_VALUE, tags: ['ok', 'toolong'] }, { abortEarly: false });
    const expected = { validator: 'joi', inputs: ['email', 'tags.1'], rules: ['string.email', 'string.max'] };
    assert.deepEqual(validationFailure(result), expected);
    assert.deepEqual(validationFailure(result.error), expected);
  });

  it('class-validator: nested errors give dotted paths and constraint names', () => {
    // Decorators applied as functions: the same metadata `@IsEmail()` on a property registers.
    class Address {}
    classValidator.IsNotEmpty()(Address.prototype, 'city');
    class Signup {}
    classValidator.IsEmail()(Signup.prototype, 'email');
    classValidator.Min(18)(Signup.prototype, 'age');
    classValidator.ValidateNested()(Signup.prototype, 'address');
    const input = Object.assign(new Signup(), {
      email: SECRET_VALUE,
      age: 3,
      address: Object.assign(new Address(), { city: '' }),
    });
    assert.deepEqual(validationFailure(classValidator.validateSync(input)), {
      validator: 'class-validator',
      inputs: ['email', 'age', 'address.city'],
      rules: ['isEmail', 'min', 'isNotEmpty'],
    });
  });

  it('express-validator: validationResult and its array(), inputs named by location and path', async () => {
    const result = await expressValidatorResult(
      [body('email').isEmail(), body('items.*.qty').isInt({ min: 1 }), query('page').isInt()],
      '?page=x',
      { email: SECRET_VALUE, items: [{ qty: 0 }] },
    );
    const expected = {
      validator: 'express-validator',
      inputs: ['body.email', 'body.items.0.qty', 'query.page'],
      rules: [],
    };
    assert.deepEqual(validationFailure(result), expected);
    assert.deepEqual(validationFailure(result?.array()), expected);
  });

  it('a record key that fails its own rule is the input itself: it stands as (key) (zod, valibot)', () => {
    const input = { m: { [SECRET_VALUE]: 2, 'ok@example.com': 'x' } };
    const zod = z.object({ m: z.record(z.string().email(), z.number()) }).safeParse(input);
    const zodFailure = validationFailure(zod);
    assert.ok(zodFailure?.inputs.includes('m.(key)'), JSON.stringify(zodFailure));
    const vali = v.safeParse(v.object({ m: v.record(v.pipe(v.string(), v.email()), v.number()) }), input);
    const valiFailure = validationFailure(vali);
    assert.ok(valiFailure?.inputs.includes('m.(key)'), JSON.stringify(valiFailure));
    for (const failure of [zodFailure, valiFailure]) {
      assert.ok(!JSON.stringify(failure).includes(SECRET_VALUE), JSON.stringify(failure));
    }
  });

  it('express-validator: oneOf alternatives and checkExact unknown fields, whatever comes first', async () => {
    const result = await expressValidatorResult(
      [
        oneOf([body('card').isCreditCard(), body('iban').isIBAN()]),
        body('amount').isInt(),
        checkExact([body('card'), body('iban'), body('amount')]),
      ],
      '',
      { card: SECRET_VALUE, amount: 'x', isAdmin: true },
    );
    const failure = validationFailure(result);
    assert.deepEqual(failure?.inputs.slice().sort(), ['body.amount', 'body.card', 'body.iban', 'body.isAdmin']);
    assert.deepEqual(failure?.rules, ['unknown_fields']);
    assert.ok(!JSON.stringify(failure).includes(SECRET_VALUE));
  });

  it('celebrate: joi errors by part of the request; body-parser: a body that is not JSON', async () => {
    const app = express();
    let caught: unknown;
    app.post(
      '/signup',
      express.json(),
      celebrate({ [Segments.BODY]: Joi.object({ email: Joi.string().email() }) }, { abortEarly: false }),
      (_req, res) => res.end(),
    );
    app.use((error: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      caught = error;
      res.status(400).end();
    });
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const post = (body: string) =>
      fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/signup`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
    await post(JSON.stringify({ email: SECRET_VALUE }));
    assert.deepEqual(validationFailure(caught), { validator: 'joi', inputs: ['body.email'], rules: ['string.email'] });
    await post(`{"password": "${SECRET_VALUE}"`);
    assert.deepEqual(validationFailure(caught), { validator: 'body-parser', inputs: ['body'], rules: ['parse'] });
    server.close();
  });

  it('Fastify: a JSON body that does not parse, or is empty', async () => {
    const app = Fastify();
    let caught: unknown;
    app.setErrorHandler((error, _request, reply) => {
      caught = error;
      void reply.code(400).send();
    });
    app.post('/orders', async () => ({ ok: true }));
    const post = (payload: string) =>
      app.inject({ method: 'POST', url: '/orders', headers: { 'content-type': 'application/json' }, payload });
    await post('{bad');
    assert.deepEqual(validationFailure(caught), { validator: 'fastify', inputs: ['body'], rules: ['json'] });
    await post('');
    assert.deepEqual(validationFailure(caught), { validator: 'fastify', inputs: ['body'], rules: ['empty'] });
    await app.close();
  });

  it('Fastify: a schema error names the part of the request it is about', async () => {
    const app = Fastify();
    let caught: unknown;
    app.setErrorHandler((error, _request, reply) => {
      caught = error;
      void reply.code(400).send({ bad: true });
    });
    app.post(
      '/orders',
      {
        schema: {
          querystring: { type: 'object', properties: { page: { type: 'integer' } } },
          body: { type: 'object', required: ['sku'], properties: { sku: { type: 'string' } } },
        },
      },
      async () => ({ ok: true }),
    );
    await app.inject({ method: 'POST', url: '/orders?page=x', payload: { sku: 'A' } });
    assert.deepEqual(validationFailure(caught), { validator: 'fastify', inputs: ['query.page'], rules: ['type'] });
    await app.inject({ method: 'POST', url: '/orders', payload: { other: SECRET_VALUE } });
    assert.deepEqual(validationFailure(caught), { validator: 'fastify', inputs: ['body.sku'], rules: ['required'] });
    await app.close();
  });

  it('bounds: 16 inputs at most, names cut, repeats folded', () => {
    const schema = z.object(Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`f${i}`, z.string()])));
    const failure = validationFailure(schema.safeParse({}));
    assert.equal(failure?.inputs.length, 16);
    assert.deepEqual(failure?.rules, ['invalid_type']);
    const long = z.object({ ['k'.repeat(500)]: z.string() }).safeParse({});
    assert.equal(validationFailure(long)?.inputs[0]?.length, 128);
  });

  it('a JSON SyntaxError marked as a client error (Fastify 4, co-body) is a body that does not parse', () => {
    for (const mark of [{ statusCode: 400 }, { status: 400 }]) {
      assert.deepEqual(validationFailure(Object.assign(captureSyntaxError(), mark)), {
        validator: 'json',
        inputs: ['body'],
        rules: ['parse'],
      });
    }
    assert.equal(validationFailure(Object.assign(captureSyntaxError(), { statusCode: 500 })), undefined);
  });

  it('a failure of the whole input is named (root)', () => {
    assert.deepEqual(validationFailure(z.string().safeParse(5)), {
      validator: 'zod',
      inputs: ['(root)'],
      rules: ['invalid_type'],
    });
  });

  it('anything else is not a validation failure, and odd objects do not throw', () => {
    for (const value of [
      undefined,
      null,
      'text',
      42,
      new Error('x'),
      new AggregateError([new Error('a')]),
      captureSyntaxError(), // the app's own JSON.parse failing is its bug, not bad input
      [],
      [1, 2],
      { success: true, data: {} },
      { issues: [] },
      Object.defineProperty({}, 'issues', {
        get() {
          throw new Error('getter');
        },
      }),
    ]) {
      assert.equal(validationFailure(value), undefined, String(value));
    }
  });

  it('the event fields: first input, all inputs, validator, rules', () => {
    assert.deepEqual(validationFields({ validator: 'zod', inputs: ['a', 'b'], rules: ['too_small'] }), {
      'vigil.input.name': 'a',
      'vigil.input.names': ['a', 'b'],
      'vigil.validation.name': 'zod',
      'vigil.validation.rules': ['too_small'],
    });
    assert.equal('vigil.validation.rules' in validationFields({ validator: 'x', inputs: ['a'], rules: [] }), false);
  });
});
