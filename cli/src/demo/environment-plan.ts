import type { ErrorCode } from '@minerhaul/signing';
import type { RegistryMode } from './demo-options';

/** What the machine has, as probed (environment-probe.ts). */
export interface EnvironmentProbe {
  nodeMajor: number;
  isRoot: boolean;
  hasAptGet: boolean;
  /** Absolute paths of the programs found, by name. */
  programs: { bwrap?: string; 'docker-registry'?: string };
  /** A `node` the sandboxed miner finds on its PATH (the host's /usr is bound read-only in slim mode). */
  sandboxNode?: string;
  /** npm packages that do not resolve from the repository. */
  missingModules: string[];
  /** Compiled files (dist/) that are missing. */
  missingBuilds: string[];
  /** typescript resolves, so `tsc -b` can build. */
  hasTypescript: boolean;
  hasPackageLock: boolean;
}

export interface PlanOptions {
  install: boolean;
  registry: RegistryMode;
  /** Set when re-planning after installing: what is still missing could not be installed. */
  installAttempted?: boolean;
}

export interface Blocker {
  code: ErrorCode;
  message: string;
}

export interface EnvironmentPlan {
  /** Debian packages to install with apt-get. */
  aptPackages: string[];
  npmInstall: boolean;
  build: boolean;
  /** Where the releases go, once the plan is carried out. */
  registry: 'docker-registry' | 'oci-layout';
  notes: string[];
  blockers: Blocker[];
}

/** The Debian package that provides each program the demo runs. */
export const DEBIAN_PACKAGES = { bwrap: 'bubblewrap', 'docker-registry': 'docker-registry' } as const;

export const MIN_NODE_MAJOR = 20;

/**
 * Decides, from a probe, what to install and what cannot work (pure; table-tested). apt-get only as
 * root; a registry that cannot be had falls back to an OCI layout directory unless one was demanded.
 */
export function planEnvironment(probe: EnvironmentProbe, options: PlanOptions): EnvironmentPlan {
  const plan: EnvironmentPlan = {
    aptPackages: [],
    npmInstall: false,
    build: false,
    registry: 'docker-registry',
    notes: [],
    blockers: [],
  };
  const canApt = options.install && !options.installAttempted && probe.isRoot && probe.hasAptGet;
  const aptWhy = !options.install
    ? 'installing is off (--no-install)'
    : !probe.isRoot
      ? 'not root'
      : !probe.hasAptGet
        ? 'no apt-get'
        : 'apt-get could not install it';
  const mayInstall = options.install && !options.installAttempted;

  if (probe.nodeMajor < MIN_NODE_MAJOR) {
    plan.blockers.push({
      code: 'E_CONFIG',
      message: `node ${MIN_NODE_MAJOR} or later is needed (this is node ${probe.nodeMajor})`,
    });
  }
  if (probe.missingModules.length > 0) {
    if (mayInstall && probe.hasPackageLock) plan.npmInstall = true;
    else {
      plan.blockers.push({
        code: 'E_CONFIG',
        message: `npm packages missing (${probe.missingModules.join(', ')}): run npm ci`,
      });
    }
  }
  if (probe.missingBuilds.length > 0) {
    if (mayInstall && (probe.hasTypescript || plan.npmInstall)) plan.build = true;
    else plan.blockers.push({ code: 'E_CONFIG', message: 'the packages are not built: run npm ci' });
  }

  if (probe.programs.bwrap === undefined) {
    if (canApt) plan.aptPackages.push(DEBIAN_PACKAGES.bwrap);
    else {
      plan.blockers.push({
        code: 'E_RUNTIME',
        message: `bubblewrap (bwrap) is not installed and cannot be (${aptWhy}): apt-get install bubblewrap`,
      });
    }
  }
  if (probe.sandboxNode === undefined) {
    plan.blockers.push({
      code: 'E_RUNTIME',
      message:
        'no node under /usr or /bin: the sandboxed sample miner runs the host node through the read-only /usr ' +
        '(install Debian nodejs, or link node into /usr/local/bin)',
    });
  }

  if (options.registry === 'oci-layout') {
    plan.registry = 'oci-layout';
  } else if (probe.programs['docker-registry'] === undefined) {
    if (canApt) plan.aptPackages.push(DEBIAN_PACKAGES['docker-registry']);
    else if (options.registry === 'docker-registry') {
      plan.blockers.push({
        code: 'E_REGISTRY',
        message: `docker-registry is not installed and cannot be (${aptWhy}): apt-get install docker-registry`,
      });
    } else {
      plan.registry = 'oci-layout';
      plan.notes.push(`docker-registry is not installed (${aptWhy}): an OCI layout directory stands in`);
    }
  }
  return plan;
}
