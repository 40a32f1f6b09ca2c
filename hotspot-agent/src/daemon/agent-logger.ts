/** The logging the agent needs; pino's Logger fits it, tests pass a recorder. */
export interface AgentLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export const silentLogger: AgentLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

/** JSON logs to stderr with pino (the agent's only logging dependency). */
export function createPinoLogger(level = process.env.MINERHAUL_LOG_LEVEL ?? 'info'): AgentLogger {
  const pino = require('pino') as typeof import('pino');
  return pino.pino({ name: 'minerhaul-agent', level, base: { pid: process.pid } }, pino.destination(2));
}
