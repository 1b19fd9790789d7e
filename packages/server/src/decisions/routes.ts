/**
 * HTTP routes of decisions: `GET /api/v1/decisions`, `GET /api/v1/decisions/:id`, `DELETE /api/v1/decisions/:id`
 * (API token), and the decision stream `GET /v1/decisions/stream` (ingest token: the one SDKs hold).
 */

import { actorOf, limitOf, onlyParams } from '../api/routes.js';
import { VigilError } from '../errors.js';
import type { TokenChecker } from '../http/auth.js';
import { readActionBody, sendJson } from '../http/body.js';
import type { RouteDefinition } from '../http/router.js';
import { DECISION_SCOPES, type DecisionScope, decisionToJson } from './decision.js';
import type { DecisionService } from './service.js';

function activeOf(params: URLSearchParams): boolean {
  const raw = params.get('active');
  if (raw === null || raw === 'false') return false;
  if (raw === 'true') return true;
  throw new VigilError('invalid_parameter', 'active must be true or false');
}

function scopeOf(params: URLSearchParams): DecisionScope | undefined {
  const raw = params.get('scope');
  if (raw === null) return undefined;
  if (!DECISION_SCOPES.includes(raw as DecisionScope)) {
    throw new VigilError('invalid_parameter', `scope must be one of ${DECISION_SCOPES.join(', ')}`);
  }
  return raw as DecisionScope;
}

function waitOf(params: URLSearchParams): number {
  const raw = params.get('waitMillis');
  if (raw === null) return Number.POSITIVE_INFINITY; // as long as the server allows
  if (!/^\d{1,6}$/.test(raw))
    throw new VigilError('invalid_parameter', 'waitMillis must be an integer of milliseconds');
  return Number(raw);
}

/** The query parameters of `GET /api/v1/decisions`. */
const DECISION_LIST_PARAMS = ['active', 'scope', 'value', 'alert', 'limit', 'cursor'] as const;

export function decisionRoutes(decisions: DecisionService, tokens: TokenChecker): RouteDefinition[] {
  const now = () => Date.now();
  return [
    {
      method: 'GET',
      path: '/api/v1/decisions',
      handler: async (req, res, url) => {
        tokens.require(req, 'api');
        const p = url.searchParams;
        onlyParams(p, DECISION_LIST_PARAMS);
        const scope = scopeOf(p);
        let page: Awaited<ReturnType<DecisionService['list']>>;
        try {
          page = await decisions.list({
            active: activeOf(p),
            ...(scope ? { scope } : {}),
            ...(p.get('value') ? { value: p.get('value')! } : {}),
            ...(p.get('alert') ? { alertId: p.get('alert')! } : {}),
            limit: limitOf(p),
            ...(p.get('cursor') ? { cursor: p.get('cursor')! } : {}),
          });
        } catch (error) {
          if (error instanceof RangeError) throw new VigilError('invalid_parameter', `cursor: ${error.message}`);
          throw error;
        }
        const at = now();
        sendJson(res, 200, {
          decisions: page.items.map((d) => decisionToJson(d, at)),
          ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}),
        });
      },
    },
    {
      method: 'GET',
      path: '/api/v1/decisions/:id',
      handler: async (req, res, _url, params) => {
        tokens.require(req, 'api');
        sendJson(res, 200, decisionToJson(await decisions.get(params.id!), now()));
      },
    },
    {
      method: 'DELETE',
      path: '/api/v1/decisions/:id',
      handler: async (req, res, _url, params) => {
        tokens.require(req, 'api');
        const who = actorOf(await readActionBody(req), req);
        sendJson(res, 200, decisionToJson(await decisions.revoke(params.id!, who), now()));
      },
    },
    {
      method: 'GET',
      path: '/v1/decisions/stream',
      handler: async (req, res, url) => {
        tokens.require(req, 'ingest');
        // A client that goes away releases its place among the held requests at once.
        const gone = new AbortController();
        res.once('close', () => gone.abort());
        const answer = await decisions.stream(
          url.searchParams.get('since') ?? undefined,
          waitOf(url.searchParams),
          gone.signal,
        );
        if (res.destroyed) return;
        // While the server shuts down, a poller re-asking on its keep-alive connection would keep that connection
        // (and so the shutdown) going for ever: tell it to hang up.
        sendJson(res, 200, answer, decisions.closing ? { connection: 'close' } : {});
      },
    },
  ];
}
