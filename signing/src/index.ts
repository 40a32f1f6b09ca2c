export * from './errors';
export { MINERHAUL_VERSION } from './version';
