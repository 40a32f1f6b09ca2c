import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateAgentConfig } from '@minerhaul/hotspot-agent';

const root = join(__dirname, '..', '..');

describe('agent images', () => {
  describe('the systemd unit', () => {
    const unit = readFileSync(join(root, 'images', 'systemd', 'minerhaul-agent.service'), 'utf8');

    it('signals only the agent on stop, so the miner outlives it', () => {
      expect(unit).toMatch(/^KillMode=process$/m);
      expect(unit).toMatch(/^Restart=always$/m);
    });

    it('starts the light agent entry that exists in the repository', () => {
      const exec = /^ExecStart=\S+ \/opt\/minerhaul\/(\S+) run --config (\S+)$/m.exec(unit);
      expect(exec?.[1]).toBe('hotspot-agent/bin/minerhaul-agent.js');
      expect(existsSync(join(root, exec?.[1] ?? 'missing'))).toBe(true);
    });
  });

  describe('the container image spec', () => {
    const spec = readFileSync(join(root, 'images', 'agent', 'Containerfile'), 'utf8');

    it('runs the light agent entry, from files the repository has', () => {
      const entry = /^ENTRYPOINT \["node", "\/opt\/minerhaul\/([^"]+)"\]$/m.exec(spec);
      expect(entry?.[1]).toBe('hotspot-agent/bin/minerhaul-agent.js');
      for (const m of spec.matchAll(/^COPY (\S+)/gm)) {
        const source = m[1] ?? '';
        // dist/ directories come from `npm run build`, which the spec asks for first.
        if (!source.endsWith('/dist')) expect(existsSync(join(root, source))).toBe(true);
      }
    });

    it('ships an example config that the published schema accepts', () => {
      const example: unknown = JSON.parse(
        readFileSync(join(root, 'images', 'agent', 'agent.example.json'), 'utf8'),
      );
      expect(validateAgentConfig(example)).toEqual(example);
    });
  });
});
