// The replay manifest: saved after committed inputs, restored exactly (counters, de-duplication by eventID across the
// stop), and refused with a clear message when written for other arguments, corrupt, in use, or its files changed.
import t from 'tap';
import type { Test } from 'tap';
import { mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../../../src/config.ts';
import { ManifestError } from '../../../src/errors.ts';
import type { InputError } from '../../../src/errors.ts';
import { NO_OWN_PATH } from '../../../src/classify/pipeline-change.ts';
import { InlineDecoder } from '../../../src/replay/input-decoders.ts';
import { runReplayInputs } from '../../../src/replay/replay-run.ts';
import { outcomeOf } from '../../../src/state/committer.ts';
import { loadManifest, ReplayManifest } from '../../../src/replay/manifest.ts';
import type { ReplayArguments } from '../../../src/replay/manifest.ts';
import { buildCore } from '../../../src/service.ts';
import { Committer } from '../../../src/state/committer.ts';
import { MemoryStore } from '../../../src/state/local-state.ts';
import { replicaState } from '../../../src/state/replica-state.ts';

const NOW = Date.parse('2026-12-01T00:00:00Z');
const FIXTURES = join(import.meta.dirname, '../../fixtures/cloudtrail');

function workdir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'kce-manifest-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The fixtures as four JSON Lines files; the last repeats two records of the first (duplicates across files). */
function inputs(dir: string): string[] {
  const records = readdirSync(FIXTURES).filter((name) => name.endsWith('.json')).sort().map((name) => JSON.stringify(JSON.parse(readFileSync(join(FIXTURES, name), 'utf8'))));
  const parts = [0, 1, 2, 3].map((i) => records.filter((_, n) => n % 4 === i));
  parts[3]!.push(parts[0]![0]!, parts[0]![1]!);
  return parts.map((lines, i) => {
    const path = join(dir, `part-${i}.jsonl`);
    writeFileSync(path, `${lines.join('\n')}\n`);
    return path;
  });
}

const ARGS = (paths: readonly string[], from: string | null = null): ReplayArguments => ({ paths: [...paths], from, to: null, accounts: null, regions: null });

/** Thrown by the test to stop a run the way SIGKILL would: nothing after it runs, nothing is finished. */
class Killed extends Error {
  override readonly name = 'Killed';
}

/**
 * The exposition without the delay histogram: receive time minus eventTime is a measurement of the run that read a
 * record (a resumed run observes only what it reads), not state a manifest can restore; everything else must be equal.
 */
const withoutDelay = (exposition: string): string => exposition.split('\n').filter((line) => !line.includes('kms_exporter_event_delay_seconds')).join('\n');

/**
 * The replay loop as runReplay runs it (replayFiles, one Committer, the manifest's hooks), stopped like a kill once
 * `killAt` inputs are done and the next one has a batch committed; the exposition when it runs to its end.
 */
async function replay(paths: readonly string[], manifestPath: string, options: { killAt?: number; args?: ReplayArguments } = {}): Promise<{ exposition: string; errors: InputError[] }> {
  const config = loadConfig({});
  const core = await buildCore(config, { env: {}, log: pino({ level: 'silent' }), now: () => NOW });
  core.selfMetrics.declareSource({ name: 'replay', errorKinds: ['unreadable_input'], eventKinds: [] });
  const committer = new Committer(core.pipeline, new MemoryStore(core.local), core.stateMetrics);
  const manifest = await ReplayManifest.open({ path: manifestPath, arguments: options.args ?? ARGS(paths), replica: replicaState({ ledger: core.ledger, selfMetrics: core.selfMetrics, sources: {} }), local: core.local, eventIds: config.dedupeCapacity, writeInterval: 0, now: () => NOW });
  let done = 0;
  const decoder = new InlineDecoder({ options: { maxRecordBytes: config.maxRecordBytes, maxDocumentBytes: 1 << 26 }, ownPath: NO_OWN_PATH, source: 'replay', openStream: () => { throw new Error('files only'); } });
  try {
    await runReplayInputs({
      inputs: (async function* () {
        for (const [location, path] of paths.entries()) if (!manifest.locationDone(location)) yield { kind: 'file' as const, name: path, path, location };
      })(),
      decoder,
      deliver: async (prepared) => {
        const outcome = outcomeOf(await committer.deliverPrepared(prepared));
        if (options.killAt !== undefined && done === options.killAt) throw new Killed();
        return outcome;
      },
      onError: (error) => manifest.errors.push(error),
      skip: (input) => manifest.skip(input.location, input.name),
      committed: (input) => {
        manifest.done(input.location, input.name);
        done++;
      },
    });
    manifest.finish(true);
  } finally {
    await manifest.close();
  }
  const exposition = await core.telemetry.exposition();
  await core.telemetry.shutdown();
  return { exposition, errors: manifest.errors };
}

t.test('stopped after any number of inputs and run again, the replay prints exactly what one uninterrupted run prints', async (t) => {
  const dir = workdir(t);
  const paths = inputs(dir);
  const once = await replay(paths, join(dir, 'once.json'));
  t.match(once.exposition, /kms_exporter_records_total\{source="replay",result="duplicate"\} [1-9]/, 'the last file repeats records of the first');
  for (const killAt of [0, 1, 2, 3]) {
    const manifest = join(dir, `killed-${killAt}.json`);
    await t.rejects(replay(paths, manifest, { killAt }), { name: 'Killed' });
    const written = loadManifest(manifest);
    if (killAt === 0) t.equal(written.kind, 'missing', 'nothing done, nothing written');
    else t.match(written, { kind: 'loaded', manifest: { done: { location: killAt - 1, through: paths[killAt - 1] }, complete: false } });
    const resumed = await replay(paths, manifest);
    t.equal(withoutDelay(resumed.exposition), withoutDelay(once.exposition), `killed after ${killAt} input(s): the same exposition, byte for byte but the delay histogram`);
    t.match(loadManifest(manifest), { kind: 'loaded', manifest: { done: { location: 4, through: null }, complete: true } });
    t.equal(withoutDelay((await replay(paths, manifest)).exposition), withoutDelay(once.exposition), 'a complete manifest: nothing read again, the same exposition');
  }
});

t.test('an input that failed is reported again by the run that ends the replay', async (t) => {
  const dir = workdir(t);
  const paths = [...inputs(dir).slice(0, 2), join(dir, 'missing.jsonl'), ...inputs(dir).slice(2)];
  const once = await replay(paths, join(dir, 'once.json'));
  t.same(once.errors.map((error) => error.message), [`${paths[2]!}: no such file`]);
  const manifest = join(dir, 'm.json');
  await t.rejects(replay(paths, manifest, { killAt: 4 }), { name: 'Killed' });
  const resumed = await replay(paths, manifest);
  t.same(resumed.errors.map((error) => error.message), [`${paths[2]!}: no such file`]);
  t.equal(withoutDelay(resumed.exposition), withoutDelay(once.exposition));
});

/** Opens a manifest for `args` with a bare core, expecting a refusal; returns its message. */
async function refusal(t: Test, path: string, args: ReplayArguments, staleLockMs?: number): Promise<string> {
  const config = loadConfig({});
  const core = await buildCore(config, { env: {}, log: pino({ level: 'silent' }), now: () => NOW });
  t.teardown(() => core.telemetry.shutdown());
  try {
    await ReplayManifest.open({ path, arguments: args, replica: replicaState({ ledger: core.ledger, selfMetrics: core.selfMetrics, sources: {} }), local: core.local, eventIds: 10, ...(staleLockMs === undefined ? {} : { staleLockMs }) });
  } catch (error) {
    t.type(error, ManifestError);
    t.equal((error as ManifestError).exitCode, 2);
    return (error as Error).message;
  }
  throw new Error('the manifest was not refused');
}

t.test('refused: other arguments (naming each difference), a corrupt file, a file of another kind; the file is left as it was', async (t) => {
  const dir = workdir(t);
  const paths = inputs(dir);
  const manifest = join(dir, 'm.json');
  await t.rejects(replay(paths, manifest, { killAt: 2, args: ARGS(['s3://trail/AWSLogs/'], '2026-11-19') }), { name: 'Killed' });
  const before = readFileSync(manifest, 'utf8');
  t.equal(
    await refusal(t, manifest, { paths: ['s3://trail/AWSLogs/o-abc123def4/'], from: '2026-11-20', to: null, accounts: ['111122223333'], regions: null }),
    `the manifest ${manifest} was written for other arguments: the paths were s3://trail/AWSLogs/, now s3://trail/AWSLogs/o-abc123def4/; --from was 2026-11-19, now 2026-11-20; --trail-accounts was not given, now 111122223333 (run it with the same arguments, or give another --manifest)`,
  );
  t.equal(readFileSync(manifest, 'utf8'), before, 'not started over');

  const corrupt = join(dir, 'corrupt.json');
  writeFileSync(corrupt, before.slice(0, 100));
  let parseError = '';
  try {
    JSON.parse(before.slice(0, 100));
  } catch (error) {
    parseError = (error as Error).message;
  }
  t.equal(await refusal(t, corrupt, ARGS(paths)), `the manifest ${corrupt} is not JSON: ${parseError}; it is left as it is: remove it to start the replay over, or give another --manifest`);
  t.equal(readFileSync(corrupt, 'utf8'), before.slice(0, 100));

  const checkpoint = join(dir, 'checkpoint.json');
  writeFileSync(checkpoint, JSON.stringify({ version: 2, writtenAt: '2026-11-20T00:00:00Z' }));
  t.equal(
    await refusal(t, checkpoint, ARGS(paths)),
    `the manifest ${checkpoint} is not a replay manifest of this version: at format, Invalid input: expected "kms-change-exporter replay manifest"; it is left as it is: remove it to start the replay over, or give another --manifest`,
  );
});

t.test('refused: a local file read by the earlier run that changed since', async (t) => {
  const dir = workdir(t);
  const paths = inputs(dir);
  const manifest = join(dir, 'm.json');
  await t.rejects(replay(paths, manifest, { killAt: 2 }), { name: 'Killed' });
  const size = readFileSync(paths[1]!).length;
  const { files } = (JSON.parse(readFileSync(manifest, 'utf8')) as { files: { mtimeMs: number }[] });
  writeFileSync(paths[1]!, `${readFileSync(paths[1]!, 'utf8')}\n`);
  utimesSync(paths[1]!, new Date('2026-11-30T00:00:00Z'), new Date('2026-11-30T00:00:00Z'));
  t.equal(
    await refusal(t, manifest, ARGS(paths)),
    `the manifest ${manifest} records ${paths[1]!} as read at size ${size}, modified ${new Date(files[1]!.mtimeMs).toISOString()}; it is now size ${size + 1}, modified 2026-11-30T00:00:00.000Z: give another --manifest to read it again`,
  );
});
