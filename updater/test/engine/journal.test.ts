import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { JOURNAL_FILE, Journal, parseJournal, writeFileAtomic } from '@minerhaul/updater';
import { makeTmpDir } from '../../../test/support/tmp-dir';

describe('Journal', () => {
  let tmp: { path: string; cleanup: () => void };
  beforeEach(() => {
    tmp = makeTmpDir('journal-');
  });
  afterEach(() => {
    tmp.cleanup();
    jest.restoreAllMocks();
  });

  describe('when the state directory is empty', () => {
    it('returns a fresh journal', async () => {
      const record = await new Journal(join(tmp.path, 'state')).load();
      expect(record).toEqual({ format: 'minerhaul.engine-journal/v1', seq: 0, rollbackCount: 0 });
    });
  });

  describe('when a step is journalled', () => {
    it('is on disk before begin() returns, with an increasing seq, and survives a reload', async () => {
      const j = new Journal(tmp.path);
      await j.load();
      await j.begin({ name: 'verify', digest: 'sha256:' + 'a'.repeat(64) });
      await j.update((r) => {
        r.rollbackCount = 2;
      });
      const onDisk = JSON.parse(await readFile(join(tmp.path, JOURNAL_FILE), 'utf8'));
      expect(onDisk).toMatchObject({ seq: 2, rollbackCount: 2, step: { name: 'verify' } });
      const reloaded = await new Journal(tmp.path).load();
      expect(reloaded).toEqual(onDisk);
    });

    it('leaves no temporary file behind', async () => {
      const j = new Journal(tmp.path);
      await j.load();
      for (let i = 0; i < 5; i++) await j.update((r) => void (r.lastError = `n${i}`));
      expect(await readdir(tmp.path)).toEqual([JOURNAL_FILE]);
    });

    it('SIGKILLs the process right after journalling the crash-test step, not before', async () => {
      const kill = jest.spyOn(process, 'kill').mockImplementation(() => true);
      const j = new Journal(tmp.path, { crashAt: 'swap' });
      await j.load();
      await j.begin({ name: 'verify', digest: 'sha256:' + 'a'.repeat(64) });
      expect(kill).not.toHaveBeenCalled();
      await j.update((r) => void (r.lastError = 'x'));
      expect(kill).not.toHaveBeenCalled();
      await j.begin({ name: 'gc' });
      expect(kill).not.toHaveBeenCalled();
      const j2 = new Journal(tmp.path, { crashAt: 'gc' });
      await j2.load();
      await j2.begin({ name: 'gc' });
      expect(kill).toHaveBeenCalledWith(process.pid, 'SIGKILL');
      const onDisk = JSON.parse(await readFile(join(tmp.path, JOURNAL_FILE), 'utf8'));
      expect(onDisk.step).toEqual({ name: 'gc' });
    });
  });

  describe('when the file is damaged or foreign', () => {
    it.each([
      ['not JSON', '{"format":'],
      ['another format', JSON.stringify({ format: 'other', seq: 1, rollbackCount: 0 })],
      [
        'an unknown step',
        JSON.stringify({
          format: 'minerhaul.engine-journal/v1',
          seq: 1,
          rollbackCount: 0,
          step: { name: 'dance' },
        }),
      ],
      [
        'a malformed release',
        JSON.stringify({
          format: 'minerhaul.engine-journal/v1',
          seq: 1,
          rollbackCount: 0,
          current: { digest: 5 },
        }),
      ],
      ['null', 'null'],
    ])('refuses %s with E_CONFIG', async (_name, text) => {
      await writeFile(join(tmp.path, JOURNAL_FILE), text);
      await expect(new Journal(tmp.path).load()).rejects.toMatchObject({ code: 'E_CONFIG' });
      expect(() => parseJournal(Buffer.from(text))).toThrow(expect.objectContaining({ code: 'E_CONFIG' }));
    });
  });
});

describe('writeFileAtomic', () => {
  it('replaces the whole content and keeps mode 0600', async () => {
    const tmp = makeTmpDir('atomic-');
    try {
      const p = join(tmp.path, 'f.json');
      await writeFileAtomic(p, 'first, longer content');
      await writeFileAtomic(p, 'second');
      expect(await readFile(p, 'utf8')).toBe('second');
      expect((await stat(p)).mode & 0o777).toBe(0o600);
    } finally {
      tmp.cleanup();
    }
  });

  it('throws when the directory does not exist, leaving nothing', async () => {
    const tmp = makeTmpDir('atomic-');
    try {
      await expect(writeFileAtomic(join(tmp.path, 'missing', 'f'), 'x')).rejects.toMatchObject({
        code: 'ENOENT',
      });
      expect(await readdir(tmp.path)).toEqual([]);
    } finally {
      tmp.cleanup();
    }
  });
});
