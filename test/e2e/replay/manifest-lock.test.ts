// The replay manifest's lock: a second run waits for a holder that may have died, then refuses one that is alive
// (seconds of waiting: kept out of the inner ring).
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../../../src/config.ts';
import { ManifestError } from '../../../src/errors.ts';
import { ReplayManifest } from '../../../src/replay/manifest.ts';
import type { ReplayArguments } from '../../../src/replay/manifest.ts';
import { buildCore } from '../../../src/service.ts';
import { replicaState } from '../../../src/state/replica-state.ts';

const ARGS: ReplayArguments = { paths: [], from: null, to: null, accounts: null, regions: null };

async function open(path: string): Promise<ReplayManifest> {
  const core = await buildCore(loadConfig({}), { env: {}, log: pino({ level: 'silent' }) });
  t.teardown(() => core.telemetry.shutdown());
  return ReplayManifest.open({ path, arguments: ARGS, replica: replicaState({ ledger: core.ledger, selfMetrics: core.selfMetrics, sources: {} }), local: core.local, eventIds: 10, staleLockMs: 2000 });
}

t.test('refused: a manifest another run holds (its lock kept fresh); taken once the holder is gone', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kce-manifest-lock-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const manifest = join(dir, 'm.json');
  const holder = await open(manifest);
  const started = Date.now();
  const refused = await open(manifest).then(
    () => undefined,
    (error: unknown) => error,
  );
  t.type(refused, ManifestError);
  t.equal((refused as ManifestError).message, `the manifest ${manifest} is in use by another replay (its lock is held and kept fresh): two runs cannot share a manifest`);
  t.equal((refused as ManifestError).exitCode, 2);
  t.ok(Date.now() - started >= 2000, 'waited for a holder that might have died');
  await holder.close();
  const next = await open(manifest);
  await next.close();
});
