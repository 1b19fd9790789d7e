/**
 * The event types Vigil knows: the OWASP Application Logging Vocabulary, plus Vigil's own extensions.
 *
 * OWASP entries follow the cheat sheet pinned in VOCABULARY_VERSION, one entry per type it defines. The cheat sheet
 * writes argument lists three ways (`name[:args]`, `name[args]`, `name:[args]`); every `pattern` here uses the form
 * its examples put in the `event` string, `name:arg,arg`. An argument that may be either of two things (`userid|IP`)
 * keeps both names and maps each to its own field. Where the cheat sheet contradicts itself the entry carries a
 * `note` saying what was normalised and why.
 *
 * Vigil extensions (namespace `vigil`) cover what the vocabulary lacks: per-request metadata, payments, account
 * security changes, data exports, application errors, object access for BOLA detection, SDK health. They are
 * snake_case names without a prefix and never reuse an OWASP name.
 */
import { Field, type FieldName } from './fields.js';

export type EventCategory =
  | 'authn'
  | 'authz'
  | 'excess'
  | 'upload'
  | 'input'
  | 'malicious'
  | 'privilege'
  | 'sensitive'
  | 'sequence'
  | 'session'
  | 'sys'
  | 'user'
  | 'request'
  | 'payment'
  | 'account'
  | 'data'
  | 'app'
  | 'sdk';

export type EventLevel = 'INFO' | 'WARN' | 'CRITICAL';

export interface EventArgument {
  /** The argument's name in the pattern (`userid`, `retries`...). */
  readonly name: string;
  /** The Vigil field that carries it on the wire. */
  readonly field: FieldName;
  /** A required argument's field must be present, or the event is rejected with code `missing`. */
  readonly required: boolean;
}

export interface EventTypeDefinition {
  readonly type: string;
  /** `owasp` for the cheat sheet's vocabulary, `vigil` for the extension namespace. */
  readonly namespace: 'owasp' | 'vigil';
  readonly category: EventCategory;
  /** The argument pattern as written in the cheat sheet (normalised), e.g. `authn_login_fail:userid`. */
  readonly pattern: string;
  readonly args: readonly EventArgument[];
  /** Suggested level, as the cheat sheet gives it for OWASP types. */
  readonly level: EventLevel;
  /** The level instead when the event's outcome is a failure, where the cheat sheet gives two. */
  readonly levelOnFailure?: EventLevel;
  /** What the event means, in one sentence. */
  readonly description: string;
  /** What was normalised relative to the cheat sheet, if anything. */
  readonly note?: string;
}

/** The cheat sheet revision the OWASP entries were checked against, file by commit. */
export const VOCABULARY_VERSION =
  'OWASP Logging Vocabulary Cheat Sheet @ b1bb27e5c1f224f0a2e617278ddaaae7e8a22799 ' +
  '(OWASP/CheatSheetSeries, cheatsheets/Logging_Vocabulary_Cheat_Sheet.md; commit date not recorded)';

const arg = (name: string, field: FieldName, required = true): EventArgument => ({ name, field, required });
const optional = (name: string, field: FieldName): EventArgument => arg(name, field, false);

// `userid|IP` in the malicious_* patterns: the address is always known to the server, the user only when the
// caller authenticated, so the address is required and the user optional.
const callerArgs = [optional('userid', Field.userId), arg('ip', Field.clientAddress)];
const missingColon = (heading: string) =>
  `The heading has no colon before the arguments (\`${heading}\`); written with one, like every other type.`;

/** Every event type of the pinned OWASP Application Logging Vocabulary, in the cheat sheet's order. */
export const OWASP_EVENT_TYPES: readonly EventTypeDefinition[] = [
  // Authentication [AUTHN]
  {
    type: 'authn_login_success',
    namespace: 'owasp',
    category: 'authn',
    pattern: 'authn_login_success:userid',
    args: [arg('userid', Field.userId)],
    level: 'INFO',
    description: 'A user proved their identity and was signed in.',
  },
  {
    type: 'authn_login_successafterfail',
    namespace: 'owasp',
    category: 'authn',
    pattern: 'authn_login_successafterfail:userid,retries',
    args: [arg('userid', Field.userId), arg('retries', Field.attemptCount)],
    level: 'INFO',
    description: 'A user signed in after one or more failed attempts on the same account.',
  },
  {
    type: 'authn_login_fail',
    namespace: 'owasp',
    category: 'authn',
    pattern: 'authn_login_fail:userid',
    args: [optional('userid', Field.userId)],
    level: 'WARN',
    description: 'A sign-in attempt was refused (wrong credentials, unknown or disabled account).',
  },
  {
    type: 'authn_login_fail_max',
    namespace: 'owasp',
    category: 'authn',
    pattern: 'authn_login_fail_max:userid,maxlimit',
    args: [arg('userid', Field.userId), arg('maxlimit', Field.limitValue)],
    level: 'WARN',
    description: 'An account reached the configured number of failed sign-ins in a row.',
    note: 'The heading annotates the argument as `maxlimit(int)`; the type now lives in the field (an integer).',
  },
  {
    type: 'authn_login_lock',
    namespace: 'owasp',
    category: 'authn',
    pattern: 'authn_login_lock:userid,reason',
    args: [arg('userid', Field.userId), arg('reason', Field.eventReason)],
    level: 'WARN',
    description: 'An account was locked; the reason is maxretries, suspicious, customer or other.',
  },
  {
    type: 'authn_password_change',
    namespace: 'owasp',
    category: 'authn',
    pattern: 'authn_password_change:userid',
    args: [arg('userid', Field.userId)],
    level: 'INFO',
    description: "The password of the user's account was changed.",
  },
  {
    type: 'authn_password_change_fail',
    namespace: 'owasp',
    category: 'authn',
    pattern: 'authn_password_change_fail:userid',
    args: [optional('userid', Field.userId)],
    level: 'INFO',
    description: 'An attempt to change a password was refused.',
  },
  {
    type: 'authn_impossible_travel',
    namespace: 'owasp',
    category: 'authn',
    pattern: 'authn_impossible_travel:userid,region1,region2',
    args: [arg('userid', Field.userId), arg('region1', Field.regionFrom), arg('region2', Field.regionTo)],
    level: 'CRITICAL',
    description: 'One user appeared in two places too far apart to travel between in the time elapsed.',
  },
  {
    type: 'authn_token_created',
    namespace: 'owasp',
    category: 'authn',
    pattern: 'authn_token_created:userid,entitlements',
    args: [arg('userid', Field.userId), optional('entitlements', Field.tokenEntitlements)],
    level: 'INFO',
    description: 'A token for service or API access was issued, with the entitlements it grants.',
    note:
      'The heading writes `userid, entitlement(s)` with a space and a plural marker; the example lists several ' +
      'entitlements, so the argument is `entitlements`, a list.',
  },
  {
    type: 'authn_token_revoked',
    namespace: 'owasp',
    category: 'authn',
    pattern: 'authn_token_revoked:userid,tokenid',
    args: [arg('userid', Field.userId), arg('tokenid', Field.tokenId)],
    level: 'INFO',
    description: 'A token was withdrawn before it would have expired.',
  },
  {
    type: 'authn_token_reuse',
    namespace: 'owasp',
    category: 'authn',
    pattern: 'authn_token_reuse:userid,tokenid',
    args: [optional('userid', Field.userId), arg('tokenid', Field.tokenId)],
    level: 'CRITICAL',
    description: 'Someone presented a token that had already been revoked.',
  },
  {
    type: 'authn_token_delete',
    namespace: 'owasp',
    category: 'authn',
    pattern: 'authn_token_delete:userid',
    args: [arg('userid', Field.userId)],
    level: 'WARN',
    description: 'A token was deleted.',
    note:
      'The heading names the argument `appid`, which is also the name of the envelope field for the emitting ' +
      'application (service.name here). Its example is the account owning the token, as `userid` is in the other ' +
      'token events, so it is called `userid` and mapped to user.id.',
  },

  // Authorization [AUTHZ]
  {
    type: 'authz_fail',
    namespace: 'owasp',
    category: 'authz',
    pattern: 'authz_fail:userid,resource',
    args: [optional('userid', Field.userId), optional('resource', Field.objectId)],
    level: 'CRITICAL',
    description: 'A caller was refused access to a resource it is not entitled to.',
    note:
      'The resource is carried in vigil.object.id (with vigil.object.type when useful), the fields object_access ' +
      'uses, so access-control rules can join the two.',
  },
  {
    type: 'authz_change',
    namespace: 'owasp',
    category: 'authz',
    pattern: 'authz_change:userid,from,to',
    args: [arg('userid', Field.targetUserId), arg('from', Field.changeFrom), arg('to', Field.changeTo)],
    level: 'WARN',
    description: 'The entitlements of a user or entity changed from one level to another.',
    note:
      'Here `userid` is the user whose entitlements changed, not the actor, so it maps to vigil.target.user.id; ' +
      'the actor, when known, goes in user.id.',
  },
  {
    type: 'authz_admin',
    namespace: 'owasp',
    category: 'authz',
    pattern: 'authz_admin:userid,event',
    args: [arg('userid', Field.userId), arg('event', Field.eventAction)],
    level: 'WARN',
    description: 'A privileged user (an administrator) performed an action.',
    note: 'The `event` argument is the action performed; it maps to ECS event.action.',
  },

  // Excessive use [EXCESS]
  {
    type: 'excess_rate_limit_exceeded',
    namespace: 'owasp',
    category: 'excess',
    pattern: 'excess_rate_limit_exceeded:userid,max',
    args: [optional('userid', Field.userId), optional('max', Field.limitValue)],
    level: 'WARN',
    description: 'A caller went over a configured usage ceiling (rate or quota).',
    note: missingColon('excess_rate_limit_exceeded[userid,max]'),
  },

  // File upload [UPLOAD]
  {
    type: 'upload_complete',
    namespace: 'owasp',
    category: 'upload',
    pattern: 'upload_complete:userid,filename,type',
    args: [optional('userid', Field.userId), arg('filename', Field.fileName), optional('type', Field.fileType)],
    level: 'INFO',
    description: 'A file upload finished arriving, before any validation of its content.',
    note: missingColon('upload_complete[userid,filename,type]'),
  },
  {
    type: 'upload_stored',
    namespace: 'owasp',
    category: 'upload',
    pattern: 'upload_stored:filename,from,to',
    args: [arg('filename', Field.fileName), optional('from', Field.changeFrom), arg('to', Field.changeTo)],
    level: 'INFO',
    description: 'An uploaded file was moved to storage under a name the uploader does not choose.',
    note:
      `${missingColon('upload_stored[filename,from,to]')} The example gives only two values, the file name and ` +
      'the storage key, so `to` (where it was stored) is required and `from` optional.',
  },
  {
    type: 'upload_validation',
    namespace: 'owasp',
    category: 'upload',
    pattern: 'upload_validation:filename,validator:result',
    args: [arg('filename', Field.fileName), arg('validator', Field.validationName), arg('result', Field.eventOutcome)],
    level: 'INFO',
    levelOnFailure: 'CRITICAL',
    description: 'A check (virus scan, type or image decoding) ran on an uploaded file, with its result.',
    note:
      `${missingColon('upload_validation[filename,...]')} The heading lists the check and the result as ` +
      'alternatives, `(virusscan|imagemagick|...):(FAILED|incomplete|passed)`, and its example puts the literal ' +
      'word `filename` where the name goes; they are named arguments here. The result is carried in event.outcome ' +
      '(passed = success, FAILED = failure, incomplete = unknown). The level is given as INFO|CRITICAL: INFO, and ' +
      'CRITICAL when the outcome is failure (levelOnFailure).',
  },
  {
    type: 'upload_delete',
    namespace: 'owasp',
    category: 'upload',
    pattern: 'upload_delete:userid,fileid',
    args: [optional('userid', Field.userId), arg('fileid', Field.fileId)],
    level: 'INFO',
    description: 'An uploaded file was deleted, or marked for deletion, in the normal course of business.',
    note:
      `${missingColon('upload_delete[userid,fileid]')} The example leaves the file id empty; it is required here, ` +
      'since the event says nothing without it.',
  },

  // Input validation [INPUT]
  {
    type: 'input_validation_fail',
    namespace: 'owasp',
    category: 'input',
    pattern: 'input_validation_fail:field,userid',
    args: [arg('field', Field.inputName), optional('userid', Field.userId)],
    level: 'WARN',
    description: 'The server rejected input that client-side validation should have stopped, or that bypassed it.',
    note: 'The only pattern that puts `userid` second; the order is kept, as it does not matter on the wire.',
  },

  // Malicious behaviour [MALICIOUS]
  {
    type: 'malicious_excess_404',
    namespace: 'owasp',
    category: 'malicious',
    pattern: 'malicious_excess_404:userid|ip,useragent',
    args: [...callerArgs, optional('useragent', Field.userAgentOriginal)],
    level: 'WARN',
    description: 'A caller asked for an unusual number of things that do not exist, as forced browsing does.',
    note: "The example spells the type `malicious_excess404`; the heading's `malicious_excess_404` is kept.",
  },
  {
    type: 'malicious_extraneous',
    namespace: 'owasp',
    category: 'malicious',
    pattern: 'malicious_extraneous:userid|ip,inputname,useragent',
    args: [...callerArgs, arg('inputname', Field.inputName), optional('useragent', Field.userAgentOriginal)],
    level: 'CRITICAL',
    description: 'A request carried input its handler does not expect, a sign of probing.',
    note: 'The Level section says CRITICAL, the example WARN; the Level section is followed.',
  },
  {
    type: 'malicious_attack_tool',
    namespace: 'owasp',
    category: 'malicious',
    pattern: 'malicious_attack_tool:userid|ip,toolname,useragent',
    args: [...callerArgs, arg('toolname', Field.toolName), optional('useragent', Field.userAgentOriginal)],
    level: 'CRITICAL',
    description: 'Traffic carried the signature or user agent of a known attack tool.',
    note: 'The Level section says CRITICAL, the example WARN; the Level section is followed.',
  },
  {
    type: 'malicious_cors',
    namespace: 'owasp',
    category: 'malicious',
    pattern: 'malicious_cors:userid|ip,useragent,referer',
    args: [
      ...callerArgs,
      optional('useragent', Field.userAgentOriginal),
      optional('referer', Field.httpRequestReferrer),
    ],
    level: 'CRITICAL',
    description: 'A cross-origin request came from an origin that is not allowed.',
    note:
      'The Level section says CRITICAL, the example WARN; the Level section is followed. The argument keeps the ' +
      'HTTP header spelling `referer`; the field is ECS http.request.referrer.',
  },
  {
    type: 'malicious_direct_reference',
    namespace: 'owasp',
    category: 'malicious',
    pattern: 'malicious_direct_reference:userid|ip,useragent',
    args: [...callerArgs, optional('useragent', Field.userAgentOriginal)],
    level: 'CRITICAL',
    description:
      'A caller tried to reach an object directly without the right to it (insecure direct object reference).',
    note:
      'The example spells the type `malicious_direct` and logs it at WARN, the heading says ' +
      '`malicious_direct_reference` and the Level section CRITICAL; the heading and Level section are followed.',
  },

  // Privilege changes [PRIVILEGE]
  {
    type: 'privilege_permissions_changed',
    namespace: 'owasp',
    category: 'privilege',
    pattern: 'privilege_permissions_changed:userid,object,fromlevel,tolevel',
    args: [
      arg('userid', Field.userId),
      arg('object', Field.objectId),
      optional('fromlevel', Field.changeFrom),
      arg('tolevel', Field.changeTo),
    ],
    level: 'WARN',
    description: 'The access permissions of a file or object were changed.',
    note:
      "The example is logged under the wrong type (`malicious_direct`). The heading's `file|object` is one " +
      'argument, `object`: a file path or object id in vigil.object.id, with vigil.object.type saying which.',
  },

  // Sensitive data changes (the cheat sheet's section tag is [DATA], its event names start with sensitive_)
  {
    type: 'sensitive_create',
    namespace: 'owasp',
    category: 'sensitive',
    pattern: 'sensitive_create:userid,object',
    args: [optional('userid', Field.userId), arg('object', Field.objectId)],
    level: 'WARN',
    description: 'Data marked sensitive, or put where sensitive data is kept, was created.',
    note: 'The `file|object` alternative is one argument, `object` (vigil.object.id; vigil.object.type says which).',
  },
  {
    type: 'sensitive_read',
    namespace: 'owasp',
    category: 'sensitive',
    pattern: 'sensitive_read:userid,object',
    args: [optional('userid', Field.userId), arg('object', Field.objectId)],
    level: 'WARN',
    description: 'Sensitive data was read.',
    note: 'The `file|object` alternative is one argument, `object` (vigil.object.id; vigil.object.type says which).',
  },
  {
    type: 'sensitive_update',
    namespace: 'owasp',
    category: 'sensitive',
    pattern: 'sensitive_update:userid,object',
    args: [optional('userid', Field.userId), arg('object', Field.objectId)],
    level: 'WARN',
    description: 'Sensitive data was modified.',
    note: 'The `file|object` alternative is one argument, `object` (vigil.object.id; vigil.object.type says which).',
  },
  {
    type: 'sensitive_delete',
    namespace: 'owasp',
    category: 'sensitive',
    pattern: 'sensitive_delete:userid,object',
    args: [optional('userid', Field.userId), arg('object', Field.objectId)],
    level: 'WARN',
    description: 'Sensitive data was deleted or marked for deletion.',
    note: 'The `file|object` alternative is one argument, `object` (vigil.object.id; vigil.object.type says which).',
  },

  // Sequence errors [SEQUENCE]
  {
    type: 'sequence_fail',
    namespace: 'owasp',
    category: 'sequence',
    pattern: 'sequence_fail:userid',
    args: [optional('userid', Field.userId)],
    level: 'WARN',
    description: 'A caller reached a step of a flow without the steps that must come before it (business-logic abuse).',
  },

  // Session management [SESSION]
  {
    type: 'session_created',
    namespace: 'owasp',
    category: 'session',
    pattern: 'session_created:userid',
    args: [arg('userid', Field.userId)],
    level: 'INFO',
    description: 'An authenticated session began.',
  },
  {
    type: 'session_renewed',
    namespace: 'owasp',
    category: 'session',
    pattern: 'session_renewed:userid',
    args: [arg('userid', Field.userId)],
    level: 'INFO',
    description: 'A user chose to extend a session that was about to expire.',
    note: 'The Level section says INFO, the example WARN; the Level section is followed.',
  },
  {
    type: 'session_expired',
    namespace: 'owasp',
    category: 'session',
    pattern: 'session_expired:userid,reason',
    args: [arg('userid', Field.userId), arg('reason', Field.eventReason)],
    level: 'INFO',
    description: 'A session ended, for the reason given (logout, timeout, revoked...).',
    note: 'The Level section says INFO, the example WARN; the Level section is followed.',
  },
  {
    type: 'session_use_after_expire',
    namespace: 'owasp',
    category: 'session',
    pattern: 'session_use_after_expire:userid',
    args: [optional('userid', Field.userId)],
    level: 'WARN',
    description: 'A request came with a session that had already ended, a possible hijack.',
  },

  // System events [SYS]
  {
    type: 'sys_startup',
    namespace: 'owasp',
    category: 'sys',
    pattern: 'sys_startup:userid',
    args: [optional('userid', Field.userId)],
    level: 'WARN',
    description: 'An instance of the system started.',
  },
  {
    type: 'sys_shutdown',
    namespace: 'owasp',
    category: 'sys',
    pattern: 'sys_shutdown:userid',
    args: [optional('userid', Field.userId)],
    level: 'WARN',
    description: 'An instance of the system stopped.',
  },
  {
    type: 'sys_restart',
    namespace: 'owasp',
    category: 'sys',
    pattern: 'sys_restart:userid',
    args: [optional('userid', Field.userId)],
    level: 'WARN',
    description: 'An instance of the system restarted.',
  },
  {
    type: 'sys_crash',
    namespace: 'owasp',
    category: 'sys',
    pattern: 'sys_crash:reason',
    args: [arg('reason', Field.eventReason)],
    level: 'WARN',
    description: 'The system went down because of an unstable condition, for the reason given.',
  },
  {
    type: 'sys_monitor_disabled',
    namespace: 'owasp',
    category: 'sys',
    pattern: 'sys_monitor_disabled:userid,monitor',
    args: [optional('userid', Field.userId), arg('monitor', Field.monitorName)],
    level: 'WARN',
    description: 'A monitoring or protection agent (integrity, logging, antivirus...) was switched off.',
  },
  {
    type: 'sys_monitor_enabled',
    namespace: 'owasp',
    category: 'sys',
    pattern: 'sys_monitor_enabled:userid,monitor',
    args: [optional('userid', Field.userId), arg('monitor', Field.monitorName)],
    level: 'WARN',
    description: 'A monitoring or protection agent was switched back on.',
  },

  // User management [USER]
  {
    type: 'user_created',
    namespace: 'owasp',
    category: 'user',
    pattern: 'user_created:userid,newuserid,attributes',
    args: [
      optional('userid', Field.userId),
      arg('newuserid', Field.targetUserId),
      optional('attributes', Field.targetUserAttributes),
    ],
    level: 'WARN',
    description: 'A user account was created, with the attributes (roles, privileges) it was given.',
    note:
      'The heading writes the list as `attributes[one,two,three]`; here it is one list-valued argument. ' +
      'The actor is optional because self sign-up has none.',
  },
  {
    type: 'user_updated',
    namespace: 'owasp',
    category: 'user',
    pattern: 'user_updated:userid,onuserid,attributes',
    args: [
      arg('userid', Field.userId),
      arg('onuserid', Field.targetUserId),
      optional('attributes', Field.targetUserAttributes),
    ],
    level: 'WARN',
    description: 'A user account was modified, with the attributes it was given.',
    note:
      'The heading writes the list as `attributes[one,two,three]`; here it is one list-valued argument. ' +
      'user_created calls the account acted upon `newuserid`, the other user_* types `onuserid`: both map to ' +
      'vigil.target.user.id.',
  },
  {
    type: 'user_archived',
    namespace: 'owasp',
    category: 'user',
    pattern: 'user_archived:userid,onuserid',
    args: [arg('userid', Field.userId), arg('onuserid', Field.targetUserId)],
    level: 'WARN',
    description: 'A user account was archived: switched off but kept.',
  },
  {
    type: 'user_deleted',
    namespace: 'owasp',
    category: 'user',
    pattern: 'user_deleted:userid,onuserid',
    args: [arg('userid', Field.userId), arg('onuserid', Field.targetUserId)],
    level: 'WARN',
    description: 'A user account was deleted.',
  },
];

const paymentArgs = [
  arg('paymentid', Field.paymentId),
  arg('amount', Field.paymentAmount),
  arg('currency', Field.paymentCurrency),
];

/** Vigil's extension namespace: events the OWASP vocabulary does not name. No name here is an OWASP name. */
export const VIGIL_EXTENSION_TYPES: readonly EventTypeDefinition[] = [
  {
    type: 'http_request',
    namespace: 'vigil',
    category: 'request',
    pattern: 'http_request:method,path,route,status,duration,ip,userid,useragent',
    args: [
      arg('method', Field.httpRequestMethod),
      optional('path', Field.urlPath),
      optional('route', Field.httpRoute),
      optional('status', Field.httpResponseStatusCode),
      optional('duration', Field.httpServerRequestDuration),
      optional('ip', Field.clientAddress),
      optional('userid', Field.userId),
      optional('useragent', Field.userAgentOriginal),
    ],
    level: 'INFO',
    description: 'One API call: its method, path and route, status, timing, client and principal.',
  },
  {
    type: 'authz_success',
    namespace: 'vigil',
    category: 'authz',
    pattern: 'authz_success:userid,resource',
    args: [optional('userid', Field.userId), arg('resource', Field.objectId)],
    level: 'INFO',
    description: 'A principal was allowed to access a protected resource; the counterpart of authz_fail.',
  },
  {
    type: 'payment_initiated',
    namespace: 'vigil',
    category: 'payment',
    pattern: 'payment_initiated:userid,paymentid,amount,currency',
    args: [optional('userid', Field.userId), ...paymentArgs],
    level: 'INFO',
    description: 'A payment was started (guest checkouts have no user).',
  },
  {
    type: 'payment_succeeded',
    namespace: 'vigil',
    category: 'payment',
    pattern: 'payment_succeeded:userid,paymentid,amount,currency',
    args: [optional('userid', Field.userId), ...paymentArgs],
    level: 'INFO',
    description: 'A payment was authorised and completed.',
  },
  {
    type: 'payment_failed',
    namespace: 'vigil',
    category: 'payment',
    pattern: 'payment_failed:userid,paymentid,amount,currency,reason',
    args: [optional('userid', Field.userId), ...paymentArgs, optional('reason', Field.eventReason)],
    level: 'WARN',
    description: 'A payment was declined or failed; many in a row can mean card testing.',
  },
  {
    type: 'payout_requested',
    namespace: 'vigil',
    category: 'payment',
    pattern: 'payout_requested:userid,paymentid,amount,currency',
    args: [arg('userid', Field.userId), ...paymentArgs],
    level: 'WARN',
    description: 'A user asked for money to leave the platform (withdrawal, refund to a new destination).',
  },
  {
    type: 'account_email_change',
    namespace: 'vigil',
    category: 'account',
    pattern: 'account_email_change:userid,onuserid',
    args: [arg('userid', Field.userId), optional('onuserid', Field.targetUserId)],
    level: 'WARN',
    description: 'The e-mail address of an account changed; neither address is logged.',
  },
  {
    type: 'account_phone_change',
    namespace: 'vigil',
    category: 'account',
    pattern: 'account_phone_change:userid,onuserid',
    args: [arg('userid', Field.userId), optional('onuserid', Field.targetUserId)],
    level: 'WARN',
    description: 'The phone number of an account changed; neither number is logged.',
  },
  {
    type: 'account_mfa_enabled',
    namespace: 'vigil',
    category: 'account',
    pattern: 'account_mfa_enabled:userid,method',
    args: [arg('userid', Field.userId), optional('method', Field.mfaMethod)],
    level: 'INFO',
    description: 'A second factor was added to an account.',
  },
  {
    type: 'account_mfa_disabled',
    namespace: 'vigil',
    category: 'account',
    pattern: 'account_mfa_disabled:userid,method',
    args: [arg('userid', Field.userId), optional('method', Field.mfaMethod)],
    level: 'WARN',
    description: 'A second factor was removed from an account, weakening it.',
  },
  {
    type: 'account_mfa_challenge_fail',
    namespace: 'vigil',
    category: 'account',
    pattern: 'account_mfa_challenge_fail:userid,method',
    args: [arg('userid', Field.userId), optional('method', Field.mfaMethod)],
    level: 'WARN',
    description: 'A user passed the first factor but failed the second-factor challenge.',
  },
  {
    type: 'account_recovery_requested',
    namespace: 'vigil',
    category: 'account',
    pattern: 'account_recovery_requested:userid',
    args: [optional('userid', Field.userId)],
    level: 'INFO',
    description: 'Someone asked to recover an account (password reset, lost second factor); the account may not exist.',
  },
  {
    type: 'data_export',
    namespace: 'vigil',
    category: 'data',
    pattern: 'data_export:userid,objecttype,count',
    args: [
      arg('userid', Field.userId),
      optional('objecttype', Field.objectType),
      optional('count', Field.exportRecordCount),
    ],
    level: 'WARN',
    description: 'A user exported data in bulk (report, CSV, backup download), with the number of records.',
  },
  {
    type: 'app_error',
    namespace: 'vigil',
    category: 'app',
    pattern: 'app_error:errortype,fingerprint',
    args: [arg('errortype', Field.errorType), arg('fingerprint', Field.errorFingerprint)],
    level: 'WARN',
    description: 'The application hit an unhandled error; the fingerprint groups occurrences of the same fault.',
  },
  {
    type: 'object_access',
    namespace: 'vigil',
    category: 'data',
    pattern: 'object_access:userid,objecttype,objectid',
    args: [optional('userid', Field.userId), arg('objecttype', Field.objectType), arg('objectid', Field.objectId)],
    level: 'INFO',
    description: 'A caller accessed an object by its id; the raw material for broken object-level authorization rules.',
  },
  {
    type: 'sdk_drops',
    namespace: 'vigil',
    category: 'sdk',
    pattern: 'sdk_drops:reason,count',
    args: [arg('reason', Field.dropReason), arg('count', Field.dropCount)],
    level: 'WARN',
    description: 'An SDK reports how many events it dropped, and why, since its last report.',
  },
  {
    type: 'decision_enforced',
    namespace: 'vigil',
    category: 'sdk',
    pattern: 'decision_enforced:decisionid,action,mode,scope',
    args: [
      arg('decisionid', Field.decisionId),
      arg('action', Field.decisionAction),
      arg('mode', Field.decisionMode),
      optional('scope', Field.decisionScope),
    ],
    level: 'WARN',
    description: 'An SDK applied a response decision to a request (or, in dry-run, records what it would have done).',
  },
];

/** The whole catalogue: OWASP types first, then Vigil extensions. */
export const EVENT_TYPES: readonly EventTypeDefinition[] = [...OWASP_EVENT_TYPES, ...VIGIL_EXTENSION_TYPES];

export const EVENT_TYPES_BY_NAME: ReadonlyMap<string, EventTypeDefinition> = new Map(
  EVENT_TYPES.map((t) => [t.type, t]),
);

/** Custom event types a user defines for themselves must carry this prefix, so they never collide with ours. */
export const CUSTOM_TYPE_PREFIX = 'x_';

export function isKnownEventType(type: string): boolean {
  return EVENT_TYPES_BY_NAME.has(type) || (type.startsWith(CUSTOM_TYPE_PREFIX) && /^x_[a-z0-9_]{1,60}$/.test(type));
}
