import { MinerhaulError } from './errors';
import type { FleetStore } from './fleet-store';

/**
 * Opens the store a `--db` URL names: `sqlite:PATH` (or a bare path, or `sqlite::memory:`) and
 * `postgres://…` / `postgresql://…`. Drivers load lazily so one never pulls in the other.
 */
export function openStore(url: string): FleetStore {
  if (/^postgres(ql)?:\/\//.test(url)) {
    const { PostgresStore } = require('./postgres-store') as typeof import('./postgres-store');
    return new PostgresStore(url);
  }
  const path = url.startsWith('sqlite:') ? url.slice('sqlite:'.length) : url;
  if (path.length === 0 || /^[a-z][a-z0-9+.-]*:\/\//i.test(path)) {
    throw new MinerhaulError(
      'E_CONFIG',
      `unsupported database URL '${url}': use sqlite:PATH or postgres://…`,
    );
  }
  const { SqliteStore } = require('./sqlite-store') as typeof import('./sqlite-store');
  return new SqliteStore(path);
}
