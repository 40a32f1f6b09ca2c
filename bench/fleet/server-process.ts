// A fleet server in a process of its own for the throughput benchmark: prints its URL on stdout
// and runs until stdin closes (the parent's end).
import { startFleetServer } from '@minerhaul/fleet';

async function run(): Promise<void> {
  const db = process.argv[2];
  if (db === undefined) throw new Error('usage: server-process.ts DB_URL');
  const s = await startFleetServer(
    { db, listen: '127.0.0.1:0' },
    { MINERHAUL_FLEET_ADMIN_TOKEN: 'bench-admin-token-0123456789' },
    (err) => process.stderr.write(`server error: ${String(err)}\n`),
  );
  process.stdout.write(`${s.url}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => {
    void s.fleet.close().then(() => process.exit(0));
  });
}

run().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exit(1);
});
