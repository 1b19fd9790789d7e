/**
 * Express middleware enforcing Vigil's response decisions. Dry-run is the default: it only records what it would
 * have done (`decision_enforced` events with `vigil.decision.mode: dry-run`). In `enforce` mode a block answers 403,
 * a throttle 429 with `Retry-After`, a flag passes and is recorded. Vigil unreachable: every request passes.
 *
 * @example
 * import { createVigil } from '@vigil/sdk';
 * import { vigilExpress } from '@vigil/sdk/express';
 * import { vigilEnforce } from '@vigil/sdk/enforce';
 * const vigil = createVigil({ service: 'orders', trustedProxies: ['10.0.0.0/8'] });
 * app.use(vigilExpress(vigil));
 * app.use(authenticate); // so that user and API key decisions can apply
 * app.use(vigilEnforce(vigil, { mode: 'enforce' }));
 */
import type { Vigil } from '../client.js';
import {
  createEnforcement,
  type EnforcementControls,
  type VigilEnforceOptions,
  type WritableResponseLike,
  writeAnswer,
} from './enforcement.js';
import type { ExpressMiddleware } from './express.js';

export type { VigilEnforceOptions };

export interface VigilEnforceMiddleware extends ExpressMiddleware, EnforcementControls {}

/**
 * Create the middleware and start polling the decision stream (`endpoint` and `token` default to `VIGIL_ENDPOINT`
 * and `VIGIL_INGEST_TOKEN`). Pass the Vigil client first, or options only.
 */
export function vigilEnforce(
  vigilOrOptions?: Vigil | VigilEnforceOptions,
  more: VigilEnforceOptions = {},
): VigilEnforceMiddleware {
  const enforcement = createEnforcement(vigilOrOptions, more);
  const middleware: ExpressMiddleware = function vigilEnforceMiddleware(req, res, next) {
    const answer = enforcement.answer(req, () => req);
    if (answer === undefined) next();
    else writeAnswer(res as WritableResponseLike, answer);
  };
  return Object.assign(middleware, enforcement.controls);
}
