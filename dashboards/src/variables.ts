// The dashboard variables: the Prometheus data source, then label filters filled from Prometheus with label_values().

import type { DatasourceVariable, QueryVariable } from './grafana-model.ts';
import { DATASOURCE } from './panels.ts';

export const datasourceVariable: DatasourceVariable = {
  type: 'datasource',
  name: 'datasource',
  label: 'Data source',
  description: 'The Prometheus that scrapes kms-change-exporter.',
  query: 'prometheus',
  // Empty: Grafana selects the default Prometheus data source of the organisation.
  current: {},
  hide: 0,
  includeAll: false,
  multi: false,
  options: [],
  refresh: 1,
  regex: '',
  skipUrlSync: false,
};

/**
 * A multi-value filter on the label `name`, offered the values it has on the series
 * `selector` matches. It
 * starts at "All", sent as `.*`, which also matches series without the label: that is
 * what keeps the key and principal filters harmless when those labels are switched off.
 */
export function labelVariable(name: string, title: string, description: string, selector: string): QueryVariable {
  const definition = `label_values(${selector}, ${name})`;
  return {
    type: 'query',
    name,
    label: title,
    description,
    datasource: DATASOURCE,
    definition,
    query: { query: definition, refId: 'PrometheusVariableQueryEditor-VariableQuery' },
    current: { selected: true, text: ['All'], value: ['$__all'] },
    hide: 0,
    includeAll: true,
    multi: true,
    allValue: '.*',
    options: [],
    refresh: 2,
    regex: '',
    skipUrlSync: false,
    sort: 1,
  };
}

/** The part of a label_values() definition Grafana sends as `match[]`, and the label it lists. */
export function parseLabelValues(definition: string): { readonly selector: string; readonly label: string } {
  const match = /^label_values\((.+),\s*([a-zA-Z_][a-zA-Z0-9_]*)\)$/.exec(definition);
  if (match === null || match[1] === undefined || match[2] === undefined) throw new Error(`not a label_values() query: ${definition}`);
  return { selector: match[1], label: match[2] };
}
