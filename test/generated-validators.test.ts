import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

describe('precompiled schema validators (scripts/generate-validators.js)', () => {
  it('are generated from the schemas as they are now (run `npm run generate` after editing one)', () => {
    // prettier cannot load inside jest's VM: the generator compares in a child process.
    const script = join(__dirname, '..', 'scripts', 'generate-validators.js');
    expect(execFileSync(process.execPath, [script, '--check'], { encoding: 'utf8' })).toBe('up to date\n');
  });
});
