import type { FastifyInstance } from 'fastify';
import type { PendingHooks } from '../pending-hooks.js';

export interface OpsRoutesOptions {
  /** `GET /metrics` in Prometheus' text format (needs `metrics` on the hooks). */
  metrics: boolean;
  /** `GET /healthz` (alive) and `GET /readyz` (ready for callbacks). */
  health: boolean;
  /** True once the server is closing: `/readyz` answers 503 from then on. */
  closing(): boolean;
}

/**
 * The routes an operator's tools call: Prometheus scrapes `/metrics`; an orchestrator probes
 * `/healthz` (the process answers) and `/readyz` (send callbacks here: listening, not draining,
 * the dedupe store reachable). Readiness goes false the moment closing begins, so a load balancer
 * stops routing before the last answers go out.
 */
export function registerOpsRoutes(app: FastifyInstance, hooks: PendingHooks, options: OpsRoutesOptions): void {
  const registry = hooks.metrics.registry;
  if (options.metrics) {
    if (!registry) throw new TypeError('pending-hooks: metrics routes need createPendingHooks({ metrics: true })');
    app.get('/metrics', async (_request, reply) => {
      reply.header('content-type', registry.contentType);
      return registry.metrics();
    });
  }
  if (options.health) {
    app.get('/healthz', async () => ({ status: 'ok' }));
    app.get('/readyz', async (_request, reply) => {
      const checks = hooks.readiness();
      const ready = !options.closing() && Object.values(checks).every((state) => state === 'ok');
      reply.code(ready ? 200 : 503);
      return { status: ready ? 'ready' : options.closing() ? 'draining' : 'not ready', checks: { ...checks, server: options.closing() ? 'closing' : 'ok' } };
    });
  }
}
