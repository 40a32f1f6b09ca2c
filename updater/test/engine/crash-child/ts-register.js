// Lets a plain `node` child process run the TypeScript sources (jest transpiles them for tests, but the
// crash-recovery tests need a separate process they can SIGKILL): the project's transpile-only loader.
require('../../../ts-worker-register.js');
