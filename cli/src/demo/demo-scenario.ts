import type { AdoptionReport } from '@minerhaul/fleet';
import type { CycleSummary } from '@minerhaul/hotspot-agent';
import { MinerhaulError } from '@minerhaul/signing';
import { fetchAdoption, formatAdoptionTable } from './adoption-table';
import { type DemoAgent, startDemoAgent } from './agent-start';
import { waitFor } from './bounded-wait';
import type { DemoOptions } from './demo-options';
import type { DemoLayout } from './demo-paths';
import type { DemoReport } from './demo-report';
import { prepareEnvironment } from './environment-setup';
import { type DemoFleet, startDemoFleet } from './fleet-start';
import { freePort } from './free-port';
import { chooseMinerPort } from './miner-port';
import { MinerProbe } from './miner-probe';
import { killMinerSync, stopMiner } from './miner-stop';
import type { MinerhaulCliOptions } from './minerhaul-cli';
import { expectAdoption, expectRefused, expectRolledBack, expectTaken } from './outcome-checks';
import { type BuiltRelease, buildRelease, generateKey, publishRelease } from './release-publisher';
import { DEMO_CHANNEL, type DemoRegistry, startDemoRegistry } from './registry-start';
import type { ServiceProcesses } from './service-processes';
import { holdsBlob } from './state-inspect';
import type { StepRunner } from './step-runner';
import type { Teardown } from './teardown';

const VERSIONS = { v1: '1.0.0', v2: '2.0.0', v3: '3.0.0', v4: '4.0.0' } as const;

/** What the steps share: where to write, how to print, what to stop afterwards. */
export interface StepContext {
  options: DemoOptions;
  layout: DemoLayout;
  runner: StepRunner;
  processes: ServiceProcesses;
  teardown: Teardown;
  cli: MinerhaulCliOptions;
  baseEnv: NodeJS.ProcessEnv;
  report: DemoReport;
  abort: AbortController;
}

/**
 * The scenario, step by step. Each step builds on the previous ones (the runner skips the rest after a
 * failure) and registers in `teardown` how to stop what it started.
 */
export async function runDemoSteps(c: StepContext): Promise<void> {
  const { layout, runner, processes, teardown, cli } = c;
  const signal = c.abort.signal;
  let registryPlan: { kind: 'docker-registry' | 'oci-layout'; program?: string; reason?: string } = {
    kind: 'oci-layout',
  };
  const builds = new Map<string, BuiltRelease>();
  let registry: DemoRegistry | undefined;
  let fleet: DemoFleet | undefined;
  let agent: DemoAgent | undefined;
  let miner: MinerProbe | undefined;

  await runner.step('environment', 'environment ready', async () => {
    const result = await prepareEnvironment({
      install: c.options.install,
      registry: c.options.registry,
      env: c.baseEnv,
      signal,
      onAction: (a) => runner.say(`  … ${a}`),
    });
    const registryProgram = result.probe.programs['docker-registry'];
    registryPlan = {
      kind: result.plan.registry,
      ...(registryProgram !== undefined ? { program: registryProgram } : {}),
      ...(result.plan.notes[0] !== undefined ? { reason: result.plan.notes[0] } : {}),
    };
    const found = [
      `node ${process.versions.node}`,
      `bwrap ${result.probe.programs.bwrap}`,
      registryProgram ? `docker-registry ${registryProgram}` : 'no docker-registry',
    ];
    return {
      detail: found.join(', ') + (result.actions.length ? `; installed: ${result.actions.join(', ')}` : ''),
      commands: result.actions,
      notes: result.plan.notes,
      data: { plan: result.plan, actions: result.actions },
    };
  });

  await runner.step('keys', 'maintainer key generated', async () => {
    const maintainer = await generateKey(
      layout.keys.maintainerPublic,
      layout.keys.maintainerSecret,
      'minerhaul demo maintainer',
      cli,
    );
    const rogue = await generateKey(
      layout.keys.roguePublic,
      layout.keys.rogueSecret,
      'not trusted',
      cli,
      true,
    );
    return {
      detail: `maintainer key ${maintainer.keyNumber} (trusted by the agent); a second key ${rogue.keyNumber} nobody trusts`,
      commands: [maintainer.command, rogue.command],
      data: { maintainer: maintainer.keyNumber, rogue: rogue.keyNumber },
    };
  });

  await runner.step('build', 'sample miner v1-v4 built', async () => {
    const commands: string[] = [];
    for (const version of Object.values(VERSIONS)) {
      const built = await buildRelease(layout, version, { failHealth: version === VERSIONS.v4 }, cli);
      builds.set(version, built);
      commands.push(...built.commands);
    }
    return {
      detail: `slim images for linux/amd64 and linux/arm64 in ${layout.builds} (v4 fails its health check)`,
      commands,
      data: Object.fromEntries([...builds].map(([v, b]) => [v, b.digest])),
    };
  });

  await runner.step('registry', 'registry started', async () => {
    registry = await startDemoRegistry({
      kind: registryPlan.kind,
      program: registryPlan.program,
      fallback: c.options.registry === 'auto',
      layout,
      processes,
      env: c.baseEnv,
      ...(registryPlan.reason !== undefined ? { fallbackReason: registryPlan.reason } : {}),
    });
    const service = registry.service;
    if (service)
      teardown.add(
        'registry',
        () => processes.stop(service),
        () => processes.killAllSync(),
      );
    c.report.registry = {
      kind: registry.kind,
      ref: registry.channelRef,
      ...(registry.fallbackReason !== undefined ? { fallbackReason: registry.fallbackReason } : {}),
    };
    return {
      detail:
        registry.kind === 'docker-registry'
          ? `docker-registry (CNCF distribution) at ${registry.channelRef.split('/')[0]}`
          : `OCI layout directory ${layout.layoutRegistry}` +
            (registry.fallbackReason ? ` (${registry.fallbackReason})` : ''),
      ...(service ? { commands: [service.commandLine] } : {}),
      data: { ...c.report.registry },
    };
  });

  await runner.step('fleet', 'fleet server started', async () => {
    fleet = await startDemoFleet(layout, processes, c.baseEnv);
    const service = fleet.service;
    teardown.add(
      'fleet',
      () => processes.stop(service),
      () => processes.killAllSync(),
    );
    c.report.dashboard = { url: fleet.url, adminTokenFile: layout.adminTokenFile };
    return {
      detail: `dashboard at ${fleet.url}/ (SQLite ${layout.fleetDb})`,
      commands: [fleet.command],
      notes: [`sign in with the admin token ${fleet.adminToken} (also in ${layout.adminTokenFile})`],
      data: { url: fleet.url },
    };
  });

  const need = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new MinerhaulError('E_RUNTIME', `${what} is not running`);
    return value;
  };
  const publish = async (version: string, key: string) => {
    const built = need(builds.get(version), `build ${version}`);
    return publishRelease(built, need(registry, 'the registry').repository, DEMO_CHANNEL, key, cli);
  };

  await runner.step('v1', 'agent takes v1', async () => {
    const published = await publish(VERSIONS.v1, layout.keys.maintainerSecret);
    // The miner outlives the agent: it is stopped on its own, after the agent (teardown runs backwards).
    teardown.add(
      'miner',
      () => stopMiner(layout.agentState, layout.minerData),
      () => killMinerSync(layout.agentState),
    );
    const minerPort = await chooseMinerPort();
    agent = await startDemoAgent(
      {
        layout,
        channelRef: need(registry, 'the registry').channelRef,
        fleetUrl: need(fleet, 'the fleet').url,
        minerPort,
        apiPort: await freePort(),
      },
      processes,
      c.baseEnv,
    );
    const service = agent.service;
    teardown.add(
      'agent',
      () => processes.stop(service, 20_000),
      () => processes.killAllSync(),
    );
    miner = new MinerProbe(minerPort);
    // The daemon's first check runs at start (jitter 0): wait for its outcome in the status.
    const api = agent.api;
    const status = await waitFor(
      async () => {
        const s = await api.status();
        return s.lastOutcome !== undefined ? s : undefined;
      },
      { what: "the agent's first check", timeoutMs: 90_000, intervalMs: 250, signal },
    );
    const summary: CycleSummary = {
      outcome: status.lastOutcome ?? 'failed',
      ...(status.current ? { release: status.current } : {}),
      ...(status.lastErrorCode ? { errorCode: status.lastErrorCode } : {}),
      ...(status.lastError ? { error: status.lastError } : {}),
    };
    const detail = expectTaken(VERSIONS.v1, summary, await miner.waitForVersion(VERSIONS.v1));
    return {
      detail: `${detail} (first check of the daemon)`,
      commands: [...published.commands, agent.command],
      notes: [
        `agent API ${api.url} (GET /v1/status, POST /v1/check); device ${status.deviceId}`,
        `miner http://127.0.0.1:${minerPort} (/health, /version, /stats), in bubblewrap`,
      ],
      data: { published, summary, minerPort },
    };
  });

  const checkNow = async (since: Date): Promise<CycleSummary> =>
    need(agent, 'the agent').api.checkRelease(since, signal);
  const probe = (): MinerProbe => need(miner, 'the miner');
  const checkCommand = (): string => `curl -X POST ${need(agent, 'the agent').api.url}/v1/check`;

  await runner.step('v2', 'agent takes v2', async () => {
    const since = new Date();
    const published = await publish(VERSIONS.v2, layout.keys.maintainerSecret);
    const summary = await checkNow(since);
    const detail = expectTaken(VERSIONS.v2, summary, await probe().waitForVersion(VERSIONS.v2));
    return { detail, commands: [...published.commands, checkCommand()], data: { published, summary } };
  });

  await runner.step('v3', 'agent refuses v3 (signed by an untrusted key)', async () => {
    const before = await probe().stats();
    const since = new Date();
    const published = await publish(VERSIONS.v3, layout.keys.rogueSecret);
    const summary = await checkNow(since);
    const minerVersion = (await probe().version()) ?? '';
    const after = await probe().stats();
    const v3 = need(builds.get(VERSIONS.v3), 'build 3.0.0');
    const detail = expectRefused(VERSIONS.v3, VERSIONS.v2, {
      summary,
      minerVersion,
      uptimeBefore: before?.uptimeSeconds,
      uptimeAfter: after?.uptimeSeconds,
      layerFetched: holdsBlob(layout.agentState, v3.commonLayerDigest),
    });
    return { detail, commands: [...published.commands, checkCommand()], data: { published, summary } };
  });

  await runner.step('v4', 'agent rolls back v4 (fails its health check)', async () => {
    const since = new Date();
    const published = await publish(VERSIONS.v4, layout.keys.maintainerSecret);
    const summary = await checkNow(since);
    const minerVersion = await probe().waitForVersion(VERSIONS.v2);
    const status = await need(agent, 'the agent').api.status();
    const detail = expectRolledBack(VERSIONS.v4, VERSIONS.v2, summary, minerVersion, status.rollbackCount);
    return { detail, commands: [...published.commands, checkCommand()], data: { published, summary } };
  });

  await runner.step('adoption', 'fleet shows the device on v2 with one rollback', async () => {
    const f = need(fleet, 'the fleet');
    const deviceId = (await need(agent, 'the agent').api.status()).deviceId;
    // The agent reports after every cycle and the fleet batches its writes: poll, bounded.
    let last: AdoptionReport | undefined;
    let detail = '';
    await waitFor(
      async () => {
        last = await fetchAdoption(f.url, f.adminToken);
        try {
          detail = expectAdoption(last, deviceId, VERSIONS.v2, 1);
          return true;
        } catch {
          return undefined;
        }
      },
      { what: 'the adoption view', timeoutMs: 20_000, intervalMs: 250, signal },
    ).catch(() => undefined);
    const adoption = need(last, 'the adoption view');
    if (detail === '') detail = expectAdoption(adoption, deviceId, VERSIONS.v2, 1);
    c.report.adoption = adoption;
    return {
      detail,
      commands: [`curl -H "Authorization: Bearer $(cat ${layout.adminTokenFile})" ${f.url}/v1/adoption`],
      notes: [formatAdoptionTable(adoption), `dashboard: ${f.url}/ (admin token: ${f.adminToken})`],
    };
  });
}
