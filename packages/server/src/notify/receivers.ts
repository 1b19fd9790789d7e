/**
 * The receiver registry: one configuration entry (`notify.receivers[i]`) → a validated `ReceiverConfig` → a
 * `ReceiverNotifier`. Adding a receiver type is three lines here plus its own file.
 *
 * @example
 * const config = parseReceiverConfig({ type: 'slack', name: 'secops', url: { env: 'SLACK_URL' } }, 'notify.receivers[0]');
 * const notifier = createNotifier(config); // a ReceiverNotifier: send, healthCheck, sendTest, close
 */
import { ConfigError } from '../errors.js';
import { AlertmanagerNotifier, type AlertmanagerOptions, parseAlertmanagerOptions } from './alertmanager.js';
import { EmailNotifier, type EmailOptions, parseEmailOptions } from './email.js';
import { type CommonReceiverOptions, OptionReader, parseCommonOptions, Secret, type UnsetSecrets } from './options.js';
import { PagerDutyNotifier, type PagerDutyOptions, parsePagerDutyOptions } from './pagerduty.js';
import type { ReceiverNotifier, ReceiverType } from './provider.js';
import { parseSlackOptions, SlackNotifier, type SlackOptions } from './slack.js';
import { parseSplunkOptions, SplunkNotifier, type SplunkOptions } from './splunk.js';
import { parseSyslogOptions, SyslogNotifier, type SyslogOptions } from './syslog.js';
import { parseTeamsOptions, TeamsNotifier, type TeamsOptions } from './teams.js';
import { parseWebhookOptions, WebhookNotifier, type WebhookOptions } from './webhook.js';

export type { ReceiverNotifier, ReceiverType } from './provider.js';

type Entry<T extends ReceiverType, O> = { readonly type: T } & CommonReceiverOptions & O;

/** One configured receiver, discriminated on `type`. */
export type ReceiverConfig =
  | Entry<'webhook', WebhookOptions>
  | Entry<'slack', SlackOptions>
  | Entry<'teams', TeamsOptions>
  | Entry<'pagerduty', PagerDutyOptions>
  | Entry<'email', EmailOptions>
  | Entry<'alertmanager', AlertmanagerOptions>
  | Entry<'syslog', SyslogOptions>
  | Entry<'splunk', SplunkOptions>;

export const RECEIVER_TYPES: readonly ReceiverType[] = [
  'webhook',
  'slack',
  'teams',
  'pagerduty',
  'email',
  'alertmanager',
  'syslog',
  'splunk',
];

/**
 * Validate one receiver entry. `key` is its configuration path (`notify.receivers[2]`); a bad value throws a
 * ConfigError naming the exact key below it. Secrets may be `{ env: NAME }`, read from `env`; one whose variable is
 * not set is refused, or left unresolved with `unsetSecrets: 'unresolved'` (its value then goes unchecked).
 */
export function parseReceiverConfig(
  raw: unknown,
  key: string,
  env: NodeJS.ProcessEnv = process.env,
  unsetSecrets: UnsetSecrets = 'refuse',
): ReceiverConfig {
  const r = new OptionReader(raw, key, env, []);
  const type = r.optionalString('type', 50);
  if (type === undefined) throw new ConfigError(r.keyOf('type'), `is required: one of ${RECEIVER_TYPES.join(', ')}`);
  if (!RECEIVER_TYPES.includes(type as ReceiverType)) {
    throw new ConfigError(r.keyOf('type'), `must be one of ${RECEIVER_TYPES.join(', ')}, got ${JSON.stringify(type)}`);
  }
  const common = parseCommonOptions(raw, key, type);
  switch (type as ReceiverType) {
    case 'webhook':
      return { type: 'webhook', ...common, ...parseWebhookOptions(raw, key, env, unsetSecrets) };
    case 'slack':
      return { type: 'slack', ...common, ...parseSlackOptions(raw, key, env, unsetSecrets) };
    case 'teams':
      return { type: 'teams', ...common, ...parseTeamsOptions(raw, key, env, unsetSecrets) };
    case 'pagerduty':
      return { type: 'pagerduty', ...common, ...parsePagerDutyOptions(raw, key, env, unsetSecrets) };
    case 'email':
      return { type: 'email', ...common, ...parseEmailOptions(raw, key, env, unsetSecrets) };
    case 'alertmanager':
      return { type: 'alertmanager', ...common, ...parseAlertmanagerOptions(raw, key, env, unsetSecrets) };
    case 'syslog':
      return { type: 'syslog', ...common, ...parseSyslogOptions(raw, key, env, unsetSecrets) };
    case 'splunk':
      return { type: 'splunk', ...common, ...parseSplunkOptions(raw, key, env, unsetSecrets) };
  }
}

/**
 * The notifier for a validated receiver. `now` is injectable for tests. A notifier sends, so a receiver read with an
 * unresolved secret (configuration read for a command that sends nothing) is refused here, where it is built, and
 * never fails later at a delivery.
 */
export function createNotifier(config: ReceiverConfig, now: () => number = Date.now): ReceiverNotifier {
  for (const secret of secretsOf(config)) secret.assertResolved();
  switch (config.type) {
    case 'webhook':
      return new WebhookNotifier(config, now);
    case 'slack':
      return new SlackNotifier(config, now);
    case 'teams':
      return new TeamsNotifier(config, now);
    case 'pagerduty':
      return new PagerDutyNotifier(config, now);
    case 'email':
      return new EmailNotifier(config, now);
    case 'alertmanager':
      return new AlertmanagerNotifier(config, now);
    case 'syslog':
      return new SyslogNotifier(config, now);
    case 'splunk':
      return new SplunkNotifier(config, now);
  }
}

/** The secrets in a receiver's options, nested ones (e-mail's `auth.pass`) included. */
function secretsOf(value: unknown): Secret[] {
  if (value instanceof Secret) return [value];
  if (typeof value !== 'object' || value === null || value instanceof URL) return [];
  return Object.values(value).flatMap(secretsOf);
}
