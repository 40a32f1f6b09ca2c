export * from './clock';
export * from './health-spec';
export * from './check-health';
export * from './running-check';
export * from './http-check';
export * from './exec-check';
export * from './docker-health-check';
