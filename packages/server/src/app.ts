/**
 * The embedded server: everything in one process on SQLite. `startVigil` wires the pieces with plain
 * constructor arguments; `close()` stops them in reverse order, flushing what is pending.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { BEHAVIOUR_EVALUATOR_ID, type BehaviourDetector, EventTimeOrderer } from '@vigil/engine';
import { AlertManager } from './alerts/manager.js';
import { NotificationPolicy } from './alerts/policy.js';
import { RoutingVersions } from './alerts/routing-versions.js';
import { Silences } from './alerts/silences.js';
import type { VigilConfig } from './config.js';
import { type Credentials, resolveCredentials } from './credentials.js';
import { DecisionService } from './decisions/service.js';
import { TokenChecker } from './http/auth.js';
import { loadDashboardFiles } from './http/dashboard.js';
import { createHttpServer } from './http/server.js';
import { SessionStore } from './http/sessions.js';
import { createLogger, type Logger } from './log.js';
import { createMetrics, type Metrics } from './metrics.js';
import { Dispatcher } from './notify/dispatcher.js';
import { createNotifier } from './notify/receivers.js';
import {
  captureEngineState,
  createEngine,
  loadEngineState,
  RuleReloader,
  saveEngineState,
} from './pipeline/detection.js';
import { Pipeline } from './pipeline/pipeline.js';
import { createStages, loadOpenApi } from './pipeline/stages.js';
import { startRetentionTimer } from './store/retention-timer.js';
import { SqliteStore } from './store/sqlite.js';
import type { Store } from './store/store.js';

/** How long a stop waits for requests under way before it cuts their connections. */
const STOP_GRACE_MILLIS = 10_000;

export interface VigilServer {
  readonly url: string;
  readonly port: number;
  readonly credentials: Credentials;
  readonly store: Store;
  readonly pipeline: Pipeline;
  readonly alerts: AlertManager;
  readonly dispatcher: Dispatcher;
  readonly metrics: Metrics;
  readonly silences: Silences;
  readonly decisions: DecisionService;
  /** Whether the dashboard's files were found: then `/` serves the dashboard. */
  readonly dashboard: boolean;
  /** Re-read the rule files; unchanged rules keep their state. */
  reloadRules(): Promise<unknown>;
  close(): Promise<void>;
}

export interface StartOptions {
  readonly log?: Logger;
  /** How often held events are released and quiet alerts resolved, ms. */
  readonly tickMillis?: number;
  /** How often repeat and escalation timers are checked, ms. */
  readonly timerMillis?: number;
  /** How often due notifications are polled for, ms. */
  readonly notifyPollMillis?: number;
  /** The wall clock dashboard sessions expire by (epoch ms); Date.now unless a test moves it. */
  readonly sessionClock?: () => number;
}

export const DATABASE_FILE = 'vigil.db';

export async function startVigil(config: VigilConfig, options: StartOptions = {}): Promise<VigilServer> {
  const metrics = createMetrics();
  const log = options.log ?? createLogger({ onSuppressed: () => metrics.logLinesSuppressed.inc() });
  const credentials = resolveCredentials(config);
  const store = new SqliteStore({
    file: join(config.dataDir, DATABASE_FILE),
    synchronous: config.storage.synchronous,
    eventWriter: 'thread',
    log,
  });
  const engine = await createEngine(config);
  const engineState = await loadEngineState(config.dataDir, engine, log, store);
  metrics.registry.onCollect(() => {
    for (const rule of engine.rules) {
      metrics.engineKeys.set(rule.stateSize(), { rule: rule.id });
      metrics.engineEvictions.setTotal(rule.evictionCount?.() ?? 0, { rule: rule.id });
    }
  });

  const alerts = new AlertManager({
    store,
    log,
    metrics,
    resolveAfterMillis: config.alerting.resolveAfterMillis,
    maxEvidence: config.alerting.maxEvidence,
    maxOpenAlerts: config.alerting.maxOpenAlerts,
  });
  const restored = await alerts.restore();
  metrics.registry.onCollect(() => {
    metrics.alertsOpen.set(alerts.openCount);
    metrics.alertChangesPending.set(alerts.unannounced);
  });

  const notifiers = config.notify.receivers.map((r) => createNotifier(r));
  const attemptsByReceiver = new Map(config.notify.receivers.map((r) => [r.name, r.maxAttempts]));
  const dispatcher = new Dispatcher({
    store,
    notifiers,
    maxAttempts: (name) => attemptsByReceiver.get(name) ?? 1,
    retryBaseMillis: config.notify.retryBaseMillis,
    retryMaxMillis: config.notify.retryMaxMillis,
    log,
    metrics,
    ...(options.notifyPollMillis ? { pollMillis: options.notifyPollMillis } : {}),
  });
  const silences = new Silences(store);
  await silences.load();
  const policy = new NotificationPolicy({
    root: config.alerting.route,
    inhibitRules: config.alerting.inhibitRules,
    silences,
    store,
    metrics,
    log,
  });
  const routing = new RoutingVersions(
    store,
    new Set(config.notify.receivers.map((r) => r.name)),
    config.alerting.routingSource,
    (active) => policy.setRouting(active),
    log,
  );
  await routing.load();
  alerts.onChange(async (alert, change, retold) => {
    await dispatcher.enqueue(alert, change, await policy.targetsFor(alert, change, alerts.openView), { retold });
  });
  dispatcher.start();
  // Response is opt-in: without response.enabled, alerts never become decisions (the API still lists none).
  const decisions = new DecisionService({ store, config: config.response, log, metrics });
  if (config.response.enabled) {
    alerts.onChange(async (alert, change) => {
      if (change === 'opened') await decisions.onAlertOpened(alert);
    });
  }
  // Alert changes stored before a crash whose notifications were not recorded yet: recorded now, before any new one.
  await alerts.announcePending();
  // Repeats and escalations run on the wall clock, like the people they page.
  let timersRunning = false;
  const timers = setInterval(() => {
    if (timersRunning) return;
    timersRunning = true;
    // Changes whose notification could not be recorded (a store refusing writes) are tried again first.
    alerts
      .announcePending()
      .then(() =>
        policy.due(alerts.openAlerts(), async (d) => {
          // An acknowledgement or resolve that landed while the timers looked at the alert stops the repeat: nobody is
          // paged again for an alert someone has taken.
          if (d.alert.status === 'firing')
            await dispatcher.enqueue(d.alert, d.change, d.targets, { occurrence: d.occurrence });
        }),
      )
      .catch((error) => log.error('notification timers failed', { error: (error as Error).message }))
      .finally(() => {
        timersRunning = false;
      });
  }, options.timerMillis ?? 1000);
  timers.unref();

  const stages = createStages(config);
  // Load enrichment data (IP databases) now, not on the request that first needs it: that one would stall all.
  for (const stage of stages) stage.warmUp?.();
  const orderer = new EventTimeOrderer({
    latenessMillis: config.detection.latenessMillis,
    maxBuffered: config.detection.maxBufferedEvents,
    maxBufferedBytes: config.detection.maxBufferedBytes,
  });
  metrics.registry.onCollect(() => {
    metrics.orderingLate.setTotal(orderer.lateEvents);
    metrics.orderingForced.setTotal(orderer.forcedReleases);
    metrics.orderingBuffered.set(orderer.buffered);
    metrics.orderingBufferedBytes.set(orderer.bufferedBytes);
  });
  const pipeline = new Pipeline({
    store,
    engine,
    alerts,
    metrics,
    orderer,
    clock: Date.now,
    stages,
    log,
    parse: { maxFutureSkewMillis: config.ingest.maxFutureSkewMillis, maxStringLength: config.ingest.maxStringLength },
  });

  pipeline.lastStoredSequence = await store.lastSequence();
  // Catch detection up on what was stored after the saved state was taken. Without a saved state (a first start) the
  // state written just below is the base a crash restarts from.
  if (engineState.lastSequence !== undefined) {
    alerts.replaying = true;
    let replayed = engineState.pending.length;
    try {
      await pipeline.replay(engineState.pending);
      for await (const page of store.eventsAfterSequence(engineState.lastSequence)) {
        await pipeline.replay(page);
        replayed += page.length;
      }
    } finally {
      alerts.replaying = false;
    }
    log.info('detection state restored', { rules: engineState.restored, eventsReplayed: replayed });
  }
  const reloader = new RuleReloader(config, engine, log);
  if (config.detection.watchRules) reloader.watch();
  // Taken between two macrotasks: every stored event is then detected, held in the pipeline, or not yet stored.
  const saveState = () =>
    saveEngineState(config.dataDir, captureEngineState(engine, pipeline.pending(), pipeline.lastStoredSequence)).catch(
      (error) => log.error('saving detection state failed', { error: (error as Error).message }),
    );
  // Saved once now, so a crash before the first interval ends replays from here (on a first start, every event:
  // without it, the events of a window half full at the crash were never detected again).
  await saveState();
  const snapshots = setInterval(saveState, config.detection.snapshotIntervalMillis);
  snapshots.unref();

  const sessions = new SessionStore({
    idleMillis: config.dashboard.sessionIdleMillis,
    lifetimeMillis: config.dashboard.sessionLifetimeMillis,
    maxSessions: config.dashboard.maxSessions,
    ...(options.sessionClock ? { now: options.sessionClock } : {}),
  });
  const dashboard = loadDashboardFiles();
  if (!dashboard) log.warn('the dashboard is not installed (@vigil/dashboard missing or not built): / answers 404');
  const server = createHttpServer({
    pipeline,
    alerts,
    silences,
    routing,
    openapi: loadOpenApi(config.enrich.openapi),
    baselines: () => engine.rules.find((r) => r.id === BEHAVIOUR_EVALUATOR_ID) as BehaviourDetector | undefined,
    store,
    tokens: new TokenChecker({ ingest: credentials.ingestTokens, api: credentials.apiTokens }, sessions),
    metrics,
    log,
    maxBodyBytes: config.ingest.maxBodyBytes,
    maxEventsPerRequest: config.ingest.maxEventsPerRequest,
    maxConcurrentIngest: 64,
    decisions,
    receivers: notifiers,
    sessions,
    dashboard,
  });
  // Responses not answered yet, told to close their connection when the server stops (see close()).
  const unanswered = new Set<ServerResponse>();
  let stopping = false;
  server.on('request', (_req: IncomingMessage, res: ServerResponse) => {
    if (stopping) {
      if (!res.headersSent) res.setHeader('connection', 'close');
      return;
    }
    unanswered.add(res);
    res.once('close', () => unanswered.delete(res));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.server.port, config.server.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  // Live, the event-time clock cannot lag the wall clock: held events are released and quiet alerts resolve
  // even when no new events arrive.
  let ticking = false;
  const sweep = setInterval(() => {
    if (ticking) return;
    ticking = true;
    pipeline
      .tick()
      // The wall clock: an event stamped ahead of it must not resolve every open alert early.
      .then(() => alerts.resolveQuiet(Date.now()))
      .catch((error) => log.error('detection tick failed', { error: (error as Error).message }))
      .finally(() => {
        ticking = false;
      });
  }, options.tickMillis ?? 25);
  sweep.unref();

  // Deleting events, and alerts, decisions and silences, older than their windows: at start-up (in the background,
  // batch by batch) and then hourly.
  const { retentionDays, alertRetentionDays } = config.storage;
  const retention =
    retentionDays !== undefined || alertRetentionDays !== undefined
      ? startRetentionTimer({ store, retentionDays, alertRetentionDays, silences, log, metrics })
      : undefined;

  const host = config.server.host.includes(':') ? `[${config.server.host}]` : config.server.host;
  const url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;
  log.info('vigil started', {
    url,
    dataDir: config.dataDir,
    receivers: notifiers.map((n) => n.name),
    openAlertsRestored: restored,
  });

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    credentials,
    store,
    pipeline,
    alerts,
    dispatcher,
    metrics,
    silences,
    decisions,
    dashboard: dashboard !== undefined,
    reloadRules: () => reloader.reload(),
    close() {
      closing ??= (async () => {
        clearInterval(sweep);
        clearInterval(snapshots);
        clearInterval(timers);
        await retention?.close();
        decisions.close(); // held stream requests are answered, so the server can close
        await reloader.close();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeIdleConnections();
          // A sender that keeps its keep-alive connection busy would hold the stop open for as long as it sends:
          // each answer from now on closes its connection, and whatever is left is cut after STOP_GRACE_MILLIS.
          stopping = true;
          for (const res of unanswered) if (!res.headersSent) res.setHeader('connection', 'close');
          setTimeout(() => server.closeAllConnections(), STOP_GRACE_MILLIS).unref();
        });
        await pipeline.flush();
        await saveState();
        await dispatcher.close();
        await store.close();
        log.info('vigil stopped');
      })();
      return closing;
    },
  };
}
