// The demo's helper (cli/src/demo/free-port.ts), shared with the tests rather than copied.
export { freePort } from '../../cli/src/demo/free-port';
