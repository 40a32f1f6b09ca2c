export { main, buildProgram } from './main';
export type { CliIo, CliContext } from './cli-context';
