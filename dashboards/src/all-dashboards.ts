// The project's dashboards, the file each one is committed as, and the README outline generated from them.

import type { Dashboard } from './grafana-model.ts';
import { renderDashboard } from './dashboard.ts';
import { drilldownDashboard } from './drilldown.ts';
import { exporterHealthDashboard } from './exporter-health.ts';
import { withOutline } from './outline.ts';
import { overviewDashboard } from './overview.ts';

export const README = 'README.md';

export interface DashboardFile {
  /** Named after the uid, in dashboards/. */
  readonly file: string;
  readonly dashboard: Dashboard;
}

export function allDashboards(): DashboardFile[] {
  return [overviewDashboard(), drilldownDashboard(), exporterHealthDashboard()].map((dashboard) => ({ file: `${dashboard.uid}.json`, dashboard }));
}

/**
 * File name to content, exactly as committed: every dashboard's JSON and, given the
 * current README, the README with its panel outline regenerated.
 */
export function renderAll(readme?: string): Map<string, string> {
  const dashboards = allDashboards();
  const files = new Map(dashboards.map(({ file, dashboard }) => [file, renderDashboard(dashboard)]));
  if (readme !== undefined) files.set(README, withOutline(readme, dashboards.map(({ dashboard }) => dashboard)));
  return files;
}
