import { MinerhaulError } from './errors';
import {
  type FleetConfig,
  DEFAULT_DB,
  DEFAULT_LISTEN,
  parseListen,
  resolveAdminToken,
  serverOptionsFromConfig,
} from './fleet-config';
import { type FleetServer, createFleetServer } from './fleet-server';
import { openStore } from './open-store';

export interface StartedFleetServer {
  fleet: FleetServer;
  url: string;
  schemaVersion: number;
  /** Set when no token was configured and one was made up for this run: show it once. */
  generatedToken?: string;
}

/**
 * `fleet serve`: opens the store, applies migrations, listens. Flags (db, listen) win over the
 * config file.
 */
export async function startFleetServer(
  config: FleetConfig,
  env: NodeJS.ProcessEnv,
  onError?: (err: unknown) => void,
): Promise<StartedFleetServer> {
  const options = serverOptionsFromConfig(config);
  const { host, port } = parseListen(config.listen ?? DEFAULT_LISTEN);
  const admin = resolveAdminToken(config, env);
  const store = openStore(config.db ?? DEFAULT_DB);
  let schemaVersion: number;
  try {
    schemaVersion = await store.migrate();
  } catch (err) {
    await store.close().catch(() => undefined);
    throw err;
  }
  const fleet = createFleetServer({
    ...options,
    store,
    adminToken: admin.token,
    ...(onError ? { onError } : {}),
  });
  let url: string;
  try {
    url = await fleet.listen(host, port);
  } catch (err) {
    await fleet.close().catch(() => undefined);
    const why = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new MinerhaulError('E_CONFIG', `cannot listen on ${host}:${port} (${why})`, { cause: err });
  }
  return { fleet, url, schemaVersion, ...(admin.generated ? { generatedToken: admin.token } : {}) };
}
