import { isMinerhaulError } from '@minerhaul/signing';
import {
  containerName,
  createBodyFromContainer,
  createBodyFromSettings,
  type ContainerFacts,
  LABELS,
  type RuntimeRelease,
} from '@minerhaul/updater';

const release: RuntimeRelease = {
  digest: `sha256:${'ab'.repeat(32)}`,
  manifestDigest: `sha256:${'cd'.repeat(32)}`,
  version: '2.0.0',
  sequence: 7,
  docker: { imageRef: `reg/miner@sha256:${'ab'.repeat(32)}` },
  config: { entrypoint: ['/miner'], cmd: [], env: [] },
};

const old: ContainerFacts = {
  Config: {
    Env: ['PATH=/bin', 'IMAGE_ONLY=1', 'MINER_PORT=8080', 'REGION=eu'],
    Labels: {
      'com.example.owner': 'alice',
      'image.label': 'from-image',
      [LABELS.digest]: 'sha256:old',
      [LABELS.restartPolicy]: 'always',
      [LABELS.ociVersion]: '1.0.0',
    },
    ExposedPorts: { '8080/tcp': {} },
    Healthcheck: { Test: ['CMD', 'true'] },
  },
  HostConfig: {
    Binds: ['/data:/var/lib/miner'],
    PortBindings: { '8080/tcp': [{ HostPort: '8080' }] },
    NetworkMode: 'host',
    // Disarmed while kept: the policy to restore comes from the label.
    RestartPolicy: { Name: 'no' },
  },
};
const oldImage = { Config: { Env: ['PATH=/bin', 'IMAGE_ONLY=1'], Labels: { 'image.label': 'from-image' } } };

describe('createBodyFromContainer', () => {
  const body = createBodyFromContainer(release, 'reg/miner@sha256:x', old, oldImage, 'miner');

  it("keeps the owner's env, labels, mounts and ports but not the old image's", () => {
    expect(body.Env).toEqual(['MINER_PORT=8080', 'REGION=eu']);
    expect(body.Labels['com.example.owner']).toBe('alice');
    expect(body.Labels['image.label']).toBeUndefined();
    expect(body.HostConfig.Binds).toEqual(['/data:/var/lib/miner']);
    expect(body.HostConfig.PortBindings).toEqual({ '8080/tcp': [{ HostPort: '8080' }] });
    expect(body.ExposedPorts).toEqual({ '8080/tcp': {} });
  });

  it('labels the new release, saves the restart policy in a label and creates disarmed', () => {
    expect(body.Labels[LABELS.digest]).toBe(release.digest);
    expect(body.Labels[LABELS.version]).toBe('2.0.0');
    expect(body.Labels[LABELS.sequence]).toBe('7');
    expect(body.Labels[LABELS.managed]).toBe('miner');
    expect(body.Labels[LABELS.restartPolicy]).toBe('always');
    expect(body.HostConfig.RestartPolicy).toEqual({ Name: 'no' });
  });

  it('carries a HEALTHCHECK the owner set, not one that came from the old image', () => {
    expect(body.Healthcheck).toEqual({ Test: ['CMD', 'true'] });
    const fromImage = createBodyFromContainer(
      release,
      'img',
      old,
      { Config: { ...oldImage.Config, Healthcheck: { Test: ['CMD', 'true'] } } },
      'miner',
    );
    expect(fromImage.Healthcheck).toBeUndefined();
  });

  it('falls back to the host config policy when the label is missing', () => {
    const unlabelled = {
      ...old,
      Config: { ...old.Config, Labels: {} },
      HostConfig: { RestartPolicy: { Name: 'on-failure' } },
    };
    expect(
      createBodyFromContainer(release, 'img', unlabelled, undefined, 'm').Labels[LABELS.restartPolicy],
    ).toBe('on-failure');
  });
});

describe('createBodyFromSettings', () => {
  it('applies the configured first-install settings, host network by default', () => {
    const body = createBodyFromSettings(
      release,
      'img',
      {
        env: ['A=1'],
        binds: ['/d:/data'],
        portBindings: { '80/tcp': [{ HostPort: '8080' }] },
        devices: ['/dev/ttyUSB0'],
      },
      'miner',
    );
    expect(body.Env).toEqual(['A=1']);
    expect(body.HostConfig.NetworkMode).toBe('host');
    expect(body.ExposedPorts).toEqual({ '80/tcp': {} });
    expect(body.HostConfig.Devices).toEqual([
      { PathOnHost: '/dev/ttyUSB0', PathInContainer: '/dev/ttyUSB0', CgroupPermissions: 'rwm' },
    ]);
    expect(body.Labels[LABELS.restartPolicy]).toBe('unless-stopped');
    expect(body.HostConfig.RestartPolicy).toEqual({ Name: 'no' });
  });

  it.each([
    ['an unknown restart policy', { restartPolicy: 'sometimes' }],
    ['an env entry without =', { env: ['JUSTKEY'] }],
  ])('refuses %s with E_CONFIG', (_name, settings) => {
    let caught: unknown;
    try {
      createBodyFromSettings(release, 'img', settings, 'miner');
    } catch (err) {
      caught = err;
    }
    expect(isMinerhaulError(caught, 'E_CONFIG')).toBe(true);
  });
});

describe('containerName', () => {
  it('derives a stable name from the digest', () => {
    expect(containerName('miner', `sha256:${'0123456789ab'.repeat(5)}abcd`)).toBe('miner-0123456789ab');
  });
});
