// Assembles a dashboard from its variables and rows, and renders it as the JSON committed in dashboards/.

import type { Dashboard, Variable } from './grafana-model.ts';
import { SCHEMA_VERSION } from './grafana-model.ts';
import type { Row } from './panels.ts';
import { layout } from './panels.ts';

/** Every dashboard of the project carries it; the dashboards link to each other through it. */
export const PROJECT_TAG = 'kms-change-exporter';

export interface DashboardDefinition {
  /** Stable: Grafana URLs, links and provisioning updates follow the uid. */
  readonly uid: string;
  readonly title: string;
  readonly description: string;
  readonly tags: readonly string[];
  readonly variables: readonly Variable[];
  readonly rows: readonly Row[];
  readonly from: string;
  readonly refresh: string;
}

export function dashboard(definition: DashboardDefinition): Dashboard {
  return {
    annotations: {
      list: [
        {
          builtIn: 1,
          datasource: { type: 'grafana', uid: '-- Grafana --' },
          enable: true,
          hide: true,
          iconColor: 'rgba(0, 211, 255, 1)',
          name: 'Annotations & Alerts',
          type: 'dashboard',
        },
      ],
    },
    description: definition.description,
    editable: true,
    fiscalYearStartMonth: 0,
    // Shared crosshair: the same moment is marked on every graph.
    graphTooltip: 1,
    id: null,
    links: [
      {
        type: 'dashboards',
        title: 'KMS change dashboards',
        tags: [PROJECT_TAG],
        asDropdown: true,
        includeVars: true,
        keepTime: true,
        icon: 'external link',
        targetBlank: false,
        tooltip: '',
        url: '',
      },
    ],
    panels: layout(definition.rows),
    refresh: definition.refresh,
    schemaVersion: SCHEMA_VERSION,
    tags: [PROJECT_TAG, ...definition.tags],
    templating: { list: definition.variables },
    time: { from: definition.from, to: 'now' },
    timepicker: {},
    timezone: '',
    title: definition.title,
    uid: definition.uid,
    version: 1,
    weekStart: '',
  };
}

/** Objects with their keys sorted, as Grafana's own JSON export has them; arrays keep their order. */
function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) sorted[key] = sortKeys((value as Record<string, unknown>)[key]);
    return sorted;
  }
  return value;
}

/** The committed file: sorted keys, two-space indent, final newline; the same input gives the same bytes. */
export function renderDashboard(value: Dashboard): string {
  return `${JSON.stringify(sortKeys(value), null, 2)}\n`;
}
