// Public API of the hotspot agent. Heavy parts (express, node-cron, the update engine) are loaded
// only when a configuration uses them.
export * from './config/agent-config';
export { CONFIG_SCHEMA_PATH, validateAgentConfig, describeSchemaErrors } from './config/config-schema';
export { loadAgentConfig, parseAgentConfig, resolveConfigPaths } from './config/load-config';
export {
  type DeviceIdentity,
  deviceIdFromPublicKey,
  identityFromPrivateKey,
  loadOrCreateDeviceIdentity,
} from './identity/device-identity';
export * from './report/device-report';
export { buildReport } from './report/report-builder';
export { signReportBody, type SignedReport } from './report/report-signer';
export { ReportQueue } from './report/report-queue';
export { ReportSender, type PostFn, type FlushResult } from './report/report-sender';
export { backoffDelayMs } from './schedule/backoff';
export { jitterDelayMs } from './schedule/jitter';
export { SingleFlight } from './schedule/single-flight';
export { type Clock, systemClock } from './schedule/clock';
export { type CronTrigger, validateCron, nodeCronTrigger } from './schedule/cron-trigger';
export { CycleScheduler, type CycleResult, type CycleSchedulerOptions } from './schedule/cycle-scheduler';
export { UpdateLock, type LockVerdict, type UpdateLockOptions } from './lock/update-lock';
export {
  OWNER_HEADERS,
  ownerRequestMessage,
  signOwnerRequest,
  type OwnerRequestFields,
} from './api/owner-request';
export { OWNER_REQUEST_WINDOW_SECONDS, verifyOwnerRequest } from './api/owner-auth';
export { NonceStore } from './api/nonce-store';
export { UNSIGNED_CONFIG_KEYS, planConfigPatch, redactConfig } from './api/config-patch';
export type * from './state/agent-status';
export { StatusStore, agentDir, HISTORY_LIMIT } from './state/status-store';
export { formatStatus } from './state/status-format';
export type * from './engine/agent-engine';
export { AgentDaemon, type AgentDaemonOptions, type CycleSummary } from './daemon/agent-daemon';
export { type AgentLogger, silentLogger, createPinoLogger } from './daemon/agent-logger';
export { checkOnceCommand, runDaemonCommand, type AgentCommandOptions } from './commands/agent-commands-impl';
export { readAgentStatus, DEFAULT_CONFIG_PATH, type AgentStatusView } from './commands/agent-status-read';
export {
  createLocalApiApp,
  DEFAULT_API_HOST,
  parseListenAddress,
  startLocalApi,
  type LocalApi,
} from './api/local-api';
export { createAgentEngine } from './engine/engine-factory';
export { agentMain } from './agent-main';
export { nextCronRun, isPlainCron, type CronFields } from './schedule/cron-next';
export { sendOwnerConfig, type OwnerConfigResult } from './api/owner-client';
export {
  ChildProcessEngine,
  ENGINE_CHILD_V8_FLAGS,
  childProcessEngineFactory,
  engineChildPath,
} from './engine/child-process-engine';
export type { EngineJob, ChildMessage, HookAnswer } from './engine/engine-ipc';
