export {};
export * from './engine';
export * from './runtime';
export * from './health';
export * from './unpack';
export * from './store';
