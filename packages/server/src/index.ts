export { type Alert, type AlertJson, type AlertStatus, alertToJson, fingerprint } from './alerts/alert.js';
export { DATABASE_FILE, type StartOptions, startVigil, type VigilServer } from './app.js';
export { buildConfig, loadConfig, type VigilConfig } from './config.js';
export { ConfigError, VigilError } from './errors.js';
export { signStandardWebhook } from './notify/webhook.js';
export { SqliteStore } from './store/sqlite.js';
export type { Store } from './store/store.js';
