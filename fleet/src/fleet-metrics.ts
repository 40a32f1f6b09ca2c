import { Counter, Gauge, Registry } from 'prom-client';
import { REFUSAL_REASONS, type RefusalReason } from './errors';
import type { FleetStore } from './fleet-store';

export interface FleetMetrics {
  registry: Registry;
  accepted: Counter;
  refused: Counter<'reason'>;
}

/**
 * Prometheus metrics, in a registry of their own (several servers can live in one process, as in
 * tests). Device gauges are read from the live counters at scrape time, never from the devices table.
 */
export function createFleetMetrics(store: FleetStore, silentBefore: () => number): FleetMetrics {
  const registry = new Registry();
  const accepted = new Counter({
    name: 'minerhaul_fleet_reports_accepted_total',
    help: 'Device reports accepted',
    registers: [registry],
  });
  const refused = new Counter({
    name: 'minerhaul_fleet_reports_refused_total',
    help: 'Device reports refused, by reason',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  // Every reason present from the start, so a rate() over it never starts from nothing.
  for (const reason of REFUSAL_REASONS) refused.inc({ reason } satisfies { reason: RefusalReason }, 0);
  new Gauge({
    name: 'minerhaul_fleet_devices',
    help: 'Known devices by installed version, source kind and status',
    labelNames: ['version', 'source', 'status'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const c of await store.counters()) {
        this.set({ version: c.version, source: c.sourceKind, status: c.status }, c.devices);
      }
    },
  });
  new Gauge({
    name: 'minerhaul_fleet_devices_silent',
    help: 'Devices silent for more than two report intervals',
    registers: [registry],
    async collect() {
      this.set(await store.countSilent(silentBefore()));
    },
  });
  return { registry, accepted, refused };
}
