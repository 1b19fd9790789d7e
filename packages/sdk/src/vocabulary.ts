/**
 * Typed helpers for every event type of the catalogue (@vigil/schema vocabulary.ts): the OWASP Logging Vocabulary
 * and Vigil's extensions. Arguments follow the catalogue's argument order; each maps to the field the catalogue
 * names. Every helper takes a last `extra` argument for more fields (dotted names, or nested objects), which are
 * redacted like everything else.
 *
 * Helpers never throw and never wait. Inside a request they attach the request's metadata (context.ts); the user
 * defaults to the request's principal where the vocabulary makes the user optional or the caller leaves it out.
 *
 * The set is written out rather than generated, so that each helper has a signature a reader can see; a test
 * (vocabulary.test.ts) walks the catalogue and fails when a type has no helper or a helper's event does not validate.
 */
import { Field } from '@vigil/schema';
import { errorFingerprint, type IdHash } from './fingerprint.js';
import { errorClassName } from './redact.js';
import { validationFailure, validationFields } from './validation.js';

/** A user, object or token id. Numbers, BigInts and MongoDB ObjectIds (`toHexString()`) are sent as strings. */
export type Id = string | number | bigint | { toHexString(): string };
/** More fields for an event, under dotted names (`{ 'vigil.object.type': 'invoice' }`) or nested. */
export type ExtraFields = Readonly<Record<string, unknown>>;
/** A resource or object given by its type and id. */
export interface RefObject {
  readonly type?: string;
  readonly id: Id;
}
/** A resource or object: its id, or its type and id. */
export type ObjectRef = Id | RefObject;
/** A payment: its id, amount (in the currency unit) and ISO 4217 currency. */
export interface PaymentRef {
  readonly id: Id;
  readonly amount: number;
  readonly currency: string;
}
/** Result of a check on an uploaded file, as the cheat sheet words it. */
export type ValidationResult = 'passed' | 'failed' | 'incomplete';

/** Records one event, its own fields and the caller's further ones (which never replace them); the client's builder. */
export type Recorder = (type: string, fields: Record<string, unknown>, extra?: ExtraFields) => void;

export interface LoginFailDetails extends ExtraFields {
  /** Why it failed, in a few words (`bad_password`, `unknown_user`, `locked`); never the credential. */
  readonly reason?: string;
  /**
   * Whether the account exists. When it is `false`, the user id is sent as a keyed hash instead: an unknown
   * "user name" is often a password typed into the wrong field. Distinct attempts can still be counted.
   */
  readonly userExists?: boolean;
}

export interface AuthnHelpers {
  loginSuccess(userId: Id, extra?: ExtraFields): void;
  loginSuccessAfterFail(userId: Id, retries: number, extra?: ExtraFields): void;
  /** `details` may be the reason alone: `loginFail(user, 'bad_password')`. */
  loginFail(userId?: Id | null, details?: LoginFailDetails | string): void;
  loginFailMax(userId: Id, maxLimit: number, extra?: ExtraFields): void;
  loginLock(userId: Id, reason: 'maxretries' | 'suspicious' | 'customer' | 'other' | string, extra?: ExtraFields): void;
  passwordChange(userId: Id, extra?: ExtraFields): void;
  passwordChangeFail(userId?: Id | null, extra?: ExtraFields): void;
  impossibleTravel(userId: Id, regionFrom: string, regionTo: string, extra?: ExtraFields): void;
  tokenCreated(userId: Id, entitlements?: readonly string[], extra?: ExtraFields): void;
  tokenRevoked(userId: Id, tokenId: Id, extra?: ExtraFields): void;
  tokenReuse(userId: Id | null | undefined, tokenId: Id, extra?: ExtraFields): void;
  tokenDelete(userId: Id, extra?: ExtraFields): void;
}

export interface AuthzHelpers {
  fail(userId: Id | null | undefined, resource: ObjectRef, extra?: ExtraFields): void;
  success(userId: Id | null | undefined, resource: ObjectRef, extra?: ExtraFields): void;
  /** The entitlements of `targetUserId` changed; the actor is the request's principal (or `extra['user.id']`). */
  change(targetUserId: Id, from: string, to: string, extra?: ExtraFields): void;
  admin(userId: Id | null | undefined, action: string, extra?: ExtraFields): void;
}

export interface ExcessHelpers {
  rateLimitExceeded(userId: Id | null | undefined, max: number, extra?: ExtraFields): void;
}

export interface UploadHelpers {
  complete(userId: Id | null | undefined, fileName: string, fileType?: string, extra?: ExtraFields): void;
  stored(fileName: string, from: string | null | undefined, to: string, extra?: ExtraFields): void;
  validation(fileName: string, validator: string, result: ValidationResult, extra?: ExtraFields): void;
  delete(userId: Id | null | undefined, fileId: Id, extra?: ExtraFields): void;
}

export interface InputHelpers {
  validationFail(field: string, userId?: Id | null, extra?: ExtraFields): void;
  /**
   * One `input_validation_fail` from what a validator returned or threw: a zod or valibot error or failed
   * `safeParse` result, ajv's `validate` (or its `errors`), a joi error, class-validator's errors, express-validator's
   * `validationResult(req)`, a Fastify schema error. Records the failing inputs' paths and the rules broken, never
   * the messages or values (validation.ts). Something else is still recorded, as input `(unknown)`.
   */
  fromError(error: unknown, extra?: ExtraFields): void;
}

/** The caller's address and user agent come from the request; outside one pass `client.address` in `extra`. */
export interface MaliciousHelpers {
  excess404(userId?: Id | null, extra?: ExtraFields): void;
  extraneous(inputName: string, userId?: Id | null, extra?: ExtraFields): void;
  attackTool(toolName: string, userId?: Id | null, extra?: ExtraFields): void;
  cors(userId?: Id | null, extra?: ExtraFields): void;
  directReference(userId?: Id | null, extra?: ExtraFields): void;
}

export interface PrivilegeHelpers {
  permissionsChanged(
    userId: Id | null | undefined,
    object: ObjectRef,
    fromLevel: string | null | undefined,
    toLevel: string,
    extra?: ExtraFields,
  ): void;
}

export interface SensitiveHelpers {
  create(userId: Id | null | undefined, object: ObjectRef, extra?: ExtraFields): void;
  read(userId: Id | null | undefined, object: ObjectRef, extra?: ExtraFields): void;
  update(userId: Id | null | undefined, object: ObjectRef, extra?: ExtraFields): void;
  delete(userId: Id | null | undefined, object: ObjectRef, extra?: ExtraFields): void;
}

export interface SequenceHelpers {
  fail(userId?: Id | null, extra?: ExtraFields): void;
}

export interface SessionHelpers {
  created(userId: Id, extra?: ExtraFields): void;
  renewed(userId: Id, extra?: ExtraFields): void;
  expired(userId: Id, reason: 'logout' | 'timeout' | 'revoked' | string, extra?: ExtraFields): void;
  useAfterExpire(userId?: Id | null, extra?: ExtraFields): void;
}

export interface SysHelpers {
  startup(userId?: Id | null, extra?: ExtraFields): void;
  shutdown(userId?: Id | null, extra?: ExtraFields): void;
  restart(userId?: Id | null, extra?: ExtraFields): void;
  crash(reason: string, extra?: ExtraFields): void;
  monitorDisabled(userId: Id | null | undefined, monitor: string, extra?: ExtraFields): void;
  monitorEnabled(userId: Id | null | undefined, monitor: string, extra?: ExtraFields): void;
}

export interface UserHelpers {
  created(userId: Id | null | undefined, newUserId: Id, attributes?: readonly string[], extra?: ExtraFields): void;
  updated(userId: Id | null | undefined, onUserId: Id, attributes?: readonly string[], extra?: ExtraFields): void;
  archived(userId: Id | null | undefined, onUserId: Id, extra?: ExtraFields): void;
  deleted(userId: Id | null | undefined, onUserId: Id, extra?: ExtraFields): void;
}

export interface PaymentHelpers {
  initiated(userId: Id | null | undefined, payment: PaymentRef, extra?: ExtraFields): void;
  succeeded(userId: Id | null | undefined, payment: PaymentRef, extra?: ExtraFields): void;
  failed(userId: Id | null | undefined, payment: PaymentRef, reason?: string, extra?: ExtraFields): void;
  payoutRequested(userId: Id | null | undefined, payment: PaymentRef, extra?: ExtraFields): void;
}

/** E-mail addresses and phone numbers are never sent, only that they changed. */
export interface AccountHelpers {
  emailChange(userId: Id | null | undefined, onUserId?: Id | null, extra?: ExtraFields): void;
  phoneChange(userId: Id | null | undefined, onUserId?: Id | null, extra?: ExtraFields): void;
  mfaEnabled(userId: Id | null | undefined, method?: string, extra?: ExtraFields): void;
  mfaDisabled(userId: Id | null | undefined, method?: string, extra?: ExtraFields): void;
  mfaChallengeFail(userId: Id | null | undefined, method?: string, extra?: ExtraFields): void;
  recoveryRequested(userId?: Id | null, extra?: ExtraFields): void;
}

export interface DataHelpers {
  export(userId: Id | null | undefined, recordCount: number, objectType?: string, extra?: ExtraFields): void;
}

export interface AppHelpers {
  /**
   * An error the app caught but wants on record (`app_error`): its class name and a fingerprint of its stack, never
   * its message. Errors that escape a route are recorded by the adapters without a call.
   */
  error(error: unknown, extra?: ExtraFields): void;
}

export interface VocabularyHelpers {
  readonly authn: AuthnHelpers;
  readonly authz: AuthzHelpers;
  readonly excess: ExcessHelpers;
  readonly upload: UploadHelpers;
  readonly input: InputHelpers;
  readonly malicious: MaliciousHelpers;
  readonly privilege: PrivilegeHelpers;
  readonly sensitive: SensitiveHelpers;
  readonly sequence: SequenceHelpers;
  readonly session: SessionHelpers;
  readonly sys: SysHelpers;
  readonly user: UserHelpers;
  readonly payment: PaymentHelpers;
  readonly account: AccountHelpers;
  readonly data: DataHelpers;
  readonly app: AppHelpers;
  /**
   * A caller accessed an object by id (`object_access`), the raw material of broken-object-level-authorization
   * rules. With `hashObjectIds` the id is sent as a keyed hash (`hashKey`).
   */
  access(objectType: string, objectId: Id, extra?: ExtraFields): void;
}

/**
 * An id as text: a non-empty string, a finite number, a bigint, or an object with `toHexString` (a MongoDB ObjectId).
 * Anything else (an object, NaN, a Symbol) is no id: the field is left out, and the request's principal, or an
 * `events_rejected` report of the missing argument, takes its place — never `"[object Object]"`, which would make
 * every such caller one user.
 */
export function idString(value: unknown): string | undefined {
  if (typeof value === 'string') return value.length > 0 ? value : undefined;
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : undefined;
  if (typeof value === 'bigint') return value.toString();
  if (typeof value !== 'object' || value === null) return undefined;
  try {
    const hex = (value as { toHexString?: unknown }).toHexString;
    const s = typeof hex === 'function' ? (hex as () => unknown).call(value) : undefined;
    return typeof s === 'string' && s.length > 0 ? s : undefined;
  } catch {
    return undefined; // a getter that throws
  }
}

const id = idString;

/** What every error event says of its error: its class and a fingerprint of its stack, never its message. */
export function errorFields(error: unknown): Record<string, string> {
  return { [Field.errorType]: errorClassName(error), [Field.errorFingerprint]: errorFingerprint(error) };
}

/** A list argument: an iterable of values, or one string as a list of one (not its characters). */
function list(value: Iterable<string> | string | null | undefined): string[] | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'string') return [value];
  return typeof (value as Iterable<string>)[Symbol.iterator] === 'function' ? [...value] : undefined;
}

/**
 * The fields of an `object_access` event, for `vigil.access()` and `accessParams` alike: with `hashObjectIds` (a
 * `hash` given) the id is sent hashed.
 */
export function objectAccessFields(
  objectType: string,
  objectId: string | undefined,
  hash: IdHash | undefined,
): Record<string, unknown> {
  return {
    [Field.objectType]: objectType,
    [Field.objectId]: hash !== undefined && objectId !== undefined ? hash(objectId) : objectId,
  };
}

/** An object a helper names (`{ type, id }` or an id): with `hashObjectIds` (a `hash` given) the id is hashed. */
function objectFields(object: ObjectRef, hash: IdHash | undefined): Record<string, unknown> {
  // An id object (an ObjectId, whose own `id` is its bytes) is an id, not a `{ type, id }`.
  const direct = id(object);
  const ref = direct === undefined && typeof object === 'object' && object !== null ? (object as RefObject) : undefined;
  const objectId = ref ? id(ref.id) : direct;
  return {
    [Field.objectId]: hash !== undefined && objectId !== undefined ? hash(objectId) : objectId,
    ...(ref ? { [Field.objectType]: ref.type } : {}),
  };
}

function paymentFields(p: PaymentRef): Record<string, unknown> {
  return { [Field.paymentId]: id(p.id), [Field.paymentAmount]: p.amount, [Field.paymentCurrency]: p.currency };
}

function outcomeOf(result: ValidationResult): string {
  return result === 'passed' ? 'success' : result === 'failed' ? 'failure' : 'unknown';
}

/** What `input.fromError` records for a SyntaxError: the body did not parse as JSON. */
const UNPARSED_BODY = { validator: 'json', inputs: ['body'], rules: ['parse'] } as const;

/**
 * Build the helper set on top of a recorder. `extra` always comes last so it can add fields but the helper's own
 * arguments win: a caller cannot overwrite `user.id` by accident through a spread object.
 */
export function createVocabularyHelpers(
  record: Recorder,
  options: { readonly hashObjectIds: boolean; readonly hashId: IdHash },
): VocabularyHelpers {
  const hashObjects = options.hashObjectIds ? options.hashId : undefined;
  const emit = (type: string, own: Record<string, unknown>, extra?: ExtraFields) => {
    const fields: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(own)) if (v !== undefined) fields[k] = v;
    // Plain JavaScript callers pass anything: a string here would become one field per character.
    record(type, fields, typeof extra === 'object' && extra !== null && !Array.isArray(extra) ? extra : undefined);
  };
  const user = (userId: Id | null | undefined) => ({ [Field.userId]: id(userId) });

  return {
    authn: {
      loginSuccess: (u, extra) => emit('authn_login_success', user(u), extra),
      loginSuccessAfterFail: (u, retries, extra) =>
        emit('authn_login_successafterfail', { ...user(u), [Field.attemptCount]: retries }, extra),
      loginFail: (u, details) => {
        // `loginFail(user, 'bad_password')`, as loginLock takes its reason, is read as the reason.
        const asked: LoginFailDetails =
          typeof details === 'string'
            ? { reason: details }
            : typeof details === 'object' && details !== null
              ? details
              : {};
        const { reason, userExists, ...rest } = asked;
        const raw = id(u);
        // Anything given but `true` says the name is not a known user (`'false'` from a form or a query too): such
        // a "user name" is often a password typed in the wrong field, so it goes out hashed.
        const given = userExists !== undefined && userExists !== null;
        const exists = userExists === true || (userExists as unknown) === 'true';
        emit(
          'authn_login_fail',
          {
            [Field.userId]: given && !exists && raw !== undefined ? options.hashId(raw) : raw,
            [Field.eventReason]: reason,
            'vigil.user.exists': given ? exists : undefined,
          },
          rest,
        );
      },
      loginFailMax: (u, max, extra) => emit('authn_login_fail_max', { ...user(u), [Field.limitValue]: max }, extra),
      loginLock: (u, reason, extra) => emit('authn_login_lock', { ...user(u), [Field.eventReason]: reason }, extra),
      passwordChange: (u, extra) => emit('authn_password_change', user(u), extra),
      passwordChangeFail: (u, extra) => emit('authn_password_change_fail', user(u), extra),
      impossibleTravel: (u, from, to, extra) =>
        emit('authn_impossible_travel', { ...user(u), [Field.regionFrom]: from, [Field.regionTo]: to }, extra),
      tokenCreated: (u, entitlements, extra) =>
        emit('authn_token_created', { ...user(u), [Field.tokenEntitlements]: list(entitlements) }, extra),
      tokenRevoked: (u, t, extra) => emit('authn_token_revoked', { ...user(u), [Field.tokenId]: id(t) }, extra),
      tokenReuse: (u, t, extra) => emit('authn_token_reuse', { ...user(u), [Field.tokenId]: id(t) }, extra),
      tokenDelete: (u, extra) => emit('authn_token_delete', user(u), extra),
    },
    authz: {
      fail: (u, resource, extra) => emit('authz_fail', { ...user(u), ...objectFields(resource, hashObjects) }, extra),
      success: (u, resource, extra) =>
        emit('authz_success', { ...user(u), ...objectFields(resource, hashObjects) }, extra),
      change: (target, from, to, extra) =>
        emit(
          'authz_change',
          { [Field.targetUserId]: id(target), [Field.changeFrom]: from, [Field.changeTo]: to },
          extra,
        ),
      admin: (u, action, extra) => emit('authz_admin', { ...user(u), [Field.eventAction]: action }, extra),
    },
    excess: {
      rateLimitExceeded: (u, max, extra) =>
        emit('excess_rate_limit_exceeded', { ...user(u), [Field.limitValue]: max }, extra),
    },
    upload: {
      complete: (u, fileName, fileType, extra) =>
        emit('upload_complete', { ...user(u), [Field.fileName]: fileName, [Field.fileType]: fileType }, extra),
      stored: (fileName, from, to, extra) =>
        emit(
          'upload_stored',
          { [Field.fileName]: fileName, [Field.changeFrom]: from ?? undefined, [Field.changeTo]: to },
          extra,
        ),
      validation: (fileName, validator, result, extra) =>
        emit(
          'upload_validation',
          { [Field.fileName]: fileName, [Field.validationName]: validator, [Field.eventOutcome]: outcomeOf(result) },
          extra,
        ),
      delete: (u, fileId, extra) => emit('upload_delete', { ...user(u), [Field.fileId]: id(fileId) }, extra),
    },
    input: {
      validationFail: (field, u, extra) =>
        emit('input_validation_fail', { [Field.inputName]: field, ...user(u) }, extra),
      fromError: (error, extra) => {
        // Handed over by the app, a SyntaxError is its JSON.parse of the request body failing (unmarked: the
        // automatic events take only one marked 400, since an unmarked one may be the server's own data).
        const failure = validationFailure(error) ?? (error instanceof SyntaxError ? UNPARSED_BODY : undefined);
        emit(
          'input_validation_fail',
          failure
            ? validationFields(failure)
            : {
                [Field.inputName]: '(unknown)',
                [Field.validationName]: error instanceof Error ? errorClassName(error) : undefined,
              },
          extra,
        );
      },
    },
    malicious: {
      excess404: (u, extra) => emit('malicious_excess_404', user(u), extra),
      extraneous: (inputName, u, extra) =>
        emit('malicious_extraneous', { ...user(u), [Field.inputName]: inputName }, extra),
      attackTool: (toolName, u, extra) =>
        emit('malicious_attack_tool', { ...user(u), [Field.toolName]: toolName }, extra),
      cors: (u, extra) => emit('malicious_cors', user(u), extra),
      directReference: (u, extra) => emit('malicious_direct_reference', user(u), extra),
    },
    privilege: {
      permissionsChanged: (u, object, fromLevel, toLevel, extra) =>
        emit(
          'privilege_permissions_changed',
          {
            ...user(u),
            ...objectFields(object, hashObjects),
            [Field.changeFrom]: fromLevel ?? undefined,
            [Field.changeTo]: toLevel,
          },
          extra,
        ),
    },
    sensitive: {
      create: (u, object, extra) =>
        emit('sensitive_create', { ...user(u), ...objectFields(object, hashObjects) }, extra),
      read: (u, object, extra) => emit('sensitive_read', { ...user(u), ...objectFields(object, hashObjects) }, extra),
      update: (u, object, extra) =>
        emit('sensitive_update', { ...user(u), ...objectFields(object, hashObjects) }, extra),
      delete: (u, object, extra) =>
        emit('sensitive_delete', { ...user(u), ...objectFields(object, hashObjects) }, extra),
    },
    sequence: {
      fail: (u, extra) => emit('sequence_fail', user(u), extra),
    },
    session: {
      created: (u, extra) => emit('session_created', user(u), extra),
      renewed: (u, extra) => emit('session_renewed', user(u), extra),
      expired: (u, reason, extra) => emit('session_expired', { ...user(u), [Field.eventReason]: reason }, extra),
      useAfterExpire: (u, extra) => emit('session_use_after_expire', user(u), extra),
    },
    sys: {
      startup: (u, extra) => emit('sys_startup', user(u), extra),
      shutdown: (u, extra) => emit('sys_shutdown', user(u), extra),
      restart: (u, extra) => emit('sys_restart', user(u), extra),
      crash: (reason, extra) => emit('sys_crash', { [Field.eventReason]: reason }, extra),
      monitorDisabled: (u, monitor, extra) =>
        emit('sys_monitor_disabled', { ...user(u), [Field.monitorName]: monitor }, extra),
      monitorEnabled: (u, monitor, extra) =>
        emit('sys_monitor_enabled', { ...user(u), [Field.monitorName]: monitor }, extra),
    },
    user: {
      created: (u, newUser, attributes, extra) =>
        emit(
          'user_created',
          {
            ...user(u),
            [Field.targetUserId]: id(newUser),
            [Field.targetUserAttributes]: list(attributes),
          },
          extra,
        ),
      updated: (u, onUser, attributes, extra) =>
        emit(
          'user_updated',
          {
            ...user(u),
            [Field.targetUserId]: id(onUser),
            [Field.targetUserAttributes]: list(attributes),
          },
          extra,
        ),
      archived: (u, onUser, extra) => emit('user_archived', { ...user(u), [Field.targetUserId]: id(onUser) }, extra),
      deleted: (u, onUser, extra) => emit('user_deleted', { ...user(u), [Field.targetUserId]: id(onUser) }, extra),
    },
    payment: {
      initiated: (u, p, extra) => emit('payment_initiated', { ...user(u), ...paymentFields(p) }, extra),
      succeeded: (u, p, extra) => emit('payment_succeeded', { ...user(u), ...paymentFields(p) }, extra),
      failed: (u, p, reason, extra) =>
        emit('payment_failed', { ...user(u), ...paymentFields(p), [Field.eventReason]: reason }, extra),
      payoutRequested: (u, p, extra) => emit('payout_requested', { ...user(u), ...paymentFields(p) }, extra),
    },
    account: {
      emailChange: (u, onUser, extra) =>
        emit('account_email_change', { ...user(u), [Field.targetUserId]: id(onUser) }, extra),
      phoneChange: (u, onUser, extra) =>
        emit('account_phone_change', { ...user(u), [Field.targetUserId]: id(onUser) }, extra),
      mfaEnabled: (u, method, extra) => emit('account_mfa_enabled', { ...user(u), [Field.mfaMethod]: method }, extra),
      mfaDisabled: (u, method, extra) => emit('account_mfa_disabled', { ...user(u), [Field.mfaMethod]: method }, extra),
      mfaChallengeFail: (u, method, extra) =>
        emit('account_mfa_challenge_fail', { ...user(u), [Field.mfaMethod]: method }, extra),
      recoveryRequested: (u, extra) => emit('account_recovery_requested', user(u), extra),
    },
    data: {
      export: (u, count, objectType, extra) =>
        emit('data_export', { ...user(u), [Field.exportRecordCount]: count, [Field.objectType]: objectType }, extra),
    },
    app: {
      error: (error, extra) => emit('app_error', errorFields(error), extra),
    },
    access: (objectType, objectId, extra) =>
      emit('object_access', objectAccessFields(objectType, id(objectId), hashObjects), extra),
  };
}
