import { isMinerhaulError } from '@minerhaul/signing';
import { buildBwrapArgs, type HostPathKind, parseNumericUser } from '@minerhaul/updater';

const config = { entrypoint: ['/opt/miner/bin/miner'], cmd: ['--fast'], env: ['A=1'] };

function hostWith(paths: Record<string, HostPathKind>): (path: string) => HostPathKind {
  return (path) => paths[path];
}

/** The value following each occurrence of `flag` in `args`, paired with the next one when asked. */
function pairs(args: string[], flag: string): string[][] {
  const out: string[][] = [];
  args.forEach((a, i) => {
    if (a === flag) out.push([args[i + 1] as string, args[i + 2] as string]);
  });
  return out;
}

describe('buildBwrapArgs', () => {
  describe('when building slim mode', () => {
    it('starts with the isolation flags and drops every capability', () => {
      const args = buildBwrapArgs({
        mode: 'slim',
        releaseDir: '/r',
        config,
        dataDir: '/d',
        hostPath: hostWith({}),
      });
      expect(args.slice(0, 6)).toEqual([
        '--unshare-all',
        '--share-net',
        '--new-session',
        '--die-with-parent',
        '--cap-drop',
        'ALL',
      ]);
    });

    it.each([
      [
        'merged /usr',
        { '/lib': { type: 'symlink', target: 'usr/lib' }, '/bin': { type: 'symlink', target: 'usr/bin' } },
        '--symlink',
        ['usr/lib', '/lib'],
      ],
      ['separate /lib', { '/lib': { type: 'dir' }, '/bin': { type: 'dir' } }, '--ro-bind', ['/lib', '/lib']],
    ] as const)('mirrors a %s host layout', (_name, host, flag, expected) => {
      const args = buildBwrapArgs({
        mode: 'slim',
        releaseDir: '/r',
        config,
        dataDir: '/d',
        hostPath: hostWith(host),
      });
      expect(pairs(args, flag)).toContainEqual(expected);
      expect(args).not.toContain('/lib64');
    });

    it('binds the release prefix read-only and the data directory read-write, then runs the command', () => {
      const args = buildBwrapArgs({
        mode: 'slim',
        releaseDir: '/state/releases/abc',
        config,
        dataDir: '/var/lib/minerhaul/data',
        hostPath: hostWith({}),
      });
      expect(pairs(args, '--ro-bind')).toContainEqual(['/state/releases/abc/opt/miner', '/opt/miner']);
      expect(pairs(args, '--bind')).toEqual([['/var/lib/minerhaul/data', '/var/lib/miner']]);
      expect(pairs(args, '--setenv')).toContainEqual(['A', '1']);
      expect(pairs(args, '--setenv').map((p) => p[0])).toContain('PATH');
      expect(args.slice(args.indexOf('--chdir'), args.indexOf('--chdir') + 2)).toEqual([
        '--chdir',
        '/opt/miner',
      ]);
      expect(args.slice(args.indexOf('--'))).toEqual(['--', '/opt/miner/bin/miner', '--fast']);
    });
  });

  describe('when building full mode', () => {
    it('binds the rootfs read-only as / and binds resolv.conf only where the rootfs has one', () => {
      const args = buildBwrapArgs({
        mode: 'full',
        releaseDir: '/r',
        config: { ...config, workingDir: '/work' },
        dataDir: '/d',
        dataMount: '/data/',
        hostPath: hostWith({ '/r/etc/resolv.conf': { type: 'file' } }),
      });
      expect(pairs(args, '--ro-bind')).toEqual([['/r', '/']]);
      expect(pairs(args, '--ro-bind-try')).toEqual([['/etc/resolv.conf', '/etc/resolv.conf']]);
      expect(pairs(args, '--bind')).toEqual([['/d', '/data']]);
      expect(args[args.indexOf('--chdir') + 1]).toBe('/work');
      expect(args).not.toContain('/usr');
    });
  });

  describe('when the input is bad', () => {
    it.each([
      ['an env entry without =', { config: { ...config, env: ['NOEQUALS'] } }],
      ['an env entry with an empty key', { config: { ...config, env: ['=x'] } }],
      ['no command at all', { config: { entrypoint: [], cmd: [], env: [] } }],
      ['a relative data mount', { dataMount: 'var/lib/miner' }],
      ['a data mount at /', { dataMount: '/' }],
      ['a data mount leaving /', { dataMount: '/../etc' }],
      ['a relative slim prefix', { slimPrefix: 'opt/miner' }],
    ])('refuses %s with E_CONFIG', (_name, override) => {
      let caught: unknown;
      try {
        buildBwrapArgs({
          mode: 'slim',
          releaseDir: '/r',
          config,
          dataDir: '/d',
          hostPath: hostWith({}),
          ...override,
        });
      } catch (err) {
        caught = err;
      }
      expect(isMinerhaulError(caught, 'E_CONFIG')).toBe(true);
    });
  });
});

describe('parseNumericUser', () => {
  it.each([
    [undefined, undefined],
    ['', undefined],
    ['1000', { uid: 1000, gid: 1000 }],
    ['1000:2000', { uid: 1000, gid: 2000 }],
    ['0:0', { uid: 0, gid: 0 }],
  ])('parses %p', (input, expected) => {
    expect(parseNumericUser(input)).toEqual(expected);
  });

  it.each(['miner', '1000:miner', '-1', '1000:', '99999999999'])('refuses %p with E_CONFIG', (input) => {
    expect(() => parseNumericUser(input)).toThrow(expect.objectContaining({ code: 'E_CONFIG' }));
  });
});
