// Typed builders for the panels the dashboards use, and the layout that gives them ids and grid positions.

import type {
  BarGaugePanel,
  DataSourceRef,
  FieldOverride,
  OverrideProperty,
  Panel,
  PrometheusTarget,
  RowPanel,
  StatPanel,
  TablePanel,
  TextPanel,
  Thresholds,
  TimeSeriesPanel,
  Transformation,
  ValueMapping,
} from './grafana-model.ts';

/** Every query goes to the data source the `datasource` variable names. */
export const DATASOURCE: DataSourceRef = { type: 'prometheus', uid: '${datasource}' };

const GRID_COLUMNS = 24;

export interface Query {
  readonly expr: string;
  /** Grafana's legend template, e.g. `{{event_name}}`; empty for a single unnamed value. */
  readonly legend?: string;
}

/** A panel before layout: what it shows, and how many grid cells it wants. */
export type Unplaced<P> = P extends Panel ? Omit<P, 'id' | 'gridPos'> : never;

export interface Sized {
  readonly panel: Unplaced<Panel>;
  readonly w: number;
  readonly h: number;
}

export interface Row {
  readonly title: string;
  readonly panels: readonly Sized[];
}

function refId(index: number): string {
  return String.fromCharCode('A'.charCodeAt(0) + index);
}

function targets(queries: readonly Query[], mode: 'range' | 'instant', format: PrometheusTarget['format']): PrometheusTarget[] {
  return queries.map((query, index) => ({
    datasource: DATASOURCE,
    refId: refId(index),
    expr: query.expr,
    legendFormat: query.legend ?? '',
    range: mode === 'range',
    instant: mode === 'instant',
    format,
    editorMode: 'code',
  }));
}

/** Thresholds from a base colour and the steps above it, in increasing order. */
export function thresholds(base: string, steps: readonly (readonly [number, string])[] = []): Thresholds {
  return { mode: 'absolute', steps: [{ color: base, value: null }, ...steps.map(([value, color]) => ({ color, value }))] };
}

/** Fixed colours for series or columns with known names (risk levels, results). */
export function colorOverrides(colors: Readonly<Record<string, string>>): FieldOverride[] {
  return Object.entries(colors).map(([name, color]) => ({
    matcher: { id: 'byName', options: name },
    properties: [{ id: 'color', value: { mode: 'fixed', fixedColor: color } }],
  }));
}

export function fieldOverride(name: string, ...properties: OverrideProperty[]): FieldOverride {
  return { matcher: { id: 'byName', options: name }, properties };
}

export interface TimeSeriesOptions {
  readonly description: string;
  readonly queries: readonly Query[];
  readonly unit: string;
  /** Stacked bars: for counts per interval, where the stack height is the total. */
  readonly bars?: boolean;
  readonly decimals?: number;
  /** A dashed line at an alert's threshold. */
  readonly thresholdLine?: readonly [number, string];
  readonly overrides?: readonly FieldOverride[];
  readonly legendCalcs?: readonly ('sum' | 'max' | 'mean' | 'lastNotNull')[];
}

export function timeseries(title: string, options: TimeSeriesOptions): Unplaced<TimeSeriesPanel> {
  const bars = options.bars === true;
  return {
    type: 'timeseries',
    title,
    description: options.description,
    datasource: DATASOURCE,
    targets: targets(options.queries, 'range', 'time_series'),
    fieldConfig: {
      defaults: {
        unit: options.unit,
        ...(options.decimals === undefined ? {} : { decimals: options.decimals }),
        min: 0,
        color: { mode: 'palette-classic' },
        thresholds: options.thresholdLine === undefined ? thresholds('green') : thresholds('green', [options.thresholdLine]),
        custom: {
          drawStyle: bars ? 'bars' : 'line',
          lineWidth: 1,
          fillOpacity: bars ? 80 : 10,
          showPoints: 'never',
          stacking: { mode: bars ? 'normal' : 'none', group: 'A' },
          axisSoftMin: 0,
          thresholdsStyle: { mode: options.thresholdLine === undefined ? 'off' : 'dashed' },
        },
      },
      overrides: options.overrides ?? [],
    },
    options: {
      legend: { showLegend: true, displayMode: 'table', placement: 'right', calcs: options.legendCalcs ?? [] },
      tooltip: { mode: 'multi', sort: 'desc' },
    },
  };
}

export interface StatOptions {
  readonly description: string;
  readonly queries: readonly Query[];
  readonly unit: string;
  readonly decimals?: number;
  readonly thresholds?: Thresholds;
  readonly mappings?: readonly ValueMapping[];
  readonly noValue?: string;
  readonly colorMode?: 'value' | 'background' | 'none';
}

export function stat(title: string, options: StatOptions): Unplaced<StatPanel> {
  return {
    type: 'stat',
    title,
    description: options.description,
    datasource: DATASOURCE,
    targets: targets(options.queries, 'instant', 'time_series'),
    fieldConfig: {
      defaults: {
        unit: options.unit,
        ...(options.decimals === undefined ? {} : { decimals: options.decimals }),
        ...(options.noValue === undefined ? {} : { noValue: options.noValue }),
        color: { mode: 'thresholds' },
        thresholds: options.thresholds ?? thresholds('text'),
        mappings: options.mappings ?? [],
      },
      overrides: [],
    },
    options: {
      reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
      colorMode: options.colorMode ?? 'value',
      graphMode: 'none',
      justifyMode: 'auto',
      orientation: 'auto',
      textMode: options.queries.some((query) => (query.legend ?? '') !== '') ? 'value_and_name' : 'auto',
      showPercentChange: false,
      wideLayout: true,
    },
  };
}

export interface TableOptions {
  readonly description: string;
  /** Instant queries in table format; several are merged into one table on their labels. */
  readonly queries: readonly Query[];
  /** Label columns to show, in order; every other label (job, instance...) is hidden. */
  readonly columns: readonly string[];
  /** Value columns: `Value` for one query, `Value #A`, `Value #B`... for several; none to hide them. */
  readonly values: readonly { readonly header: string; readonly unit: string; readonly decimals?: number; readonly thresholds?: Thresholds }[];
  readonly sortBy: { readonly header: string; readonly desc: boolean };
  readonly noValue?: string;
  readonly footerSum?: boolean;
}

/** Labels Prometheus adds to every series that say nothing about KMS. */
const HIDDEN_COLUMNS = ['Time', '__name__', 'job', 'instance'] as const;

export function table(title: string, options: TableOptions): Unplaced<TablePanel> {
  const valueNames = options.queries.length === 1 ? ['Value'] : options.queries.map((_, index) => `Value #${refId(index)}`);
  const hidden: Record<string, boolean> = {};
  for (const name of HIDDEN_COLUMNS) if (!options.columns.includes(name)) hidden[name] = true;
  // No value columns: a table of label sets (build_info), whose value says nothing.
  if (options.values.length === 0) for (const name of valueNames) hidden[name] = true;
  const order: Record<string, number> = {};
  [...options.columns, ...valueNames].forEach((name, index) => {
    order[name] = index;
  });
  const rename: Record<string, string> = {};
  options.values.forEach((value, index) => {
    const name = valueNames[index];
    if (name !== undefined) rename[name] = value.header;
  });
  const transformations: Transformation[] = [
    ...(options.queries.length > 1 ? [{ id: 'merge', options: {} } as const] : []),
    { id: 'organize', options: { excludeByName: hidden, indexByName: order, renameByName: rename } },
    { id: 'sortBy', options: { fields: {}, sort: [{ field: options.sortBy.header, desc: options.sortBy.desc }] } },
  ];
  return {
    type: 'table',
    title,
    description: options.description,
    datasource: DATASOURCE,
    targets: targets(options.queries, 'instant', 'table'),
    transformations,
    fieldConfig: {
      defaults: {
        ...(options.noValue === undefined ? {} : { noValue: options.noValue }),
        color: { mode: 'thresholds' },
        thresholds: thresholds('text'),
        custom: { align: 'auto', cellOptions: { type: 'auto' }, filterable: true },
      },
      // Renamed columns are matched by their new name: organize runs before field overrides.
      overrides: options.values.map((value) =>
        fieldOverride(
          value.header,
          { id: 'unit', value: value.unit },
          ...(value.decimals === undefined ? [] : [{ id: 'decimals', value: value.decimals } as const]),
          ...(value.thresholds === undefined
            ? []
            : [{ id: 'thresholds', value: value.thresholds } as const, { id: 'custom.cellOptions', value: { type: 'color-background' } } as const]),
        ),
      ),
    },
    options: {
      showHeader: true,
      cellHeight: 'sm',
      footer: { show: options.footerSum === true, reducer: ['sum'], fields: '', countRows: false },
      sortBy: [{ displayName: options.sortBy.header, desc: options.sortBy.desc }],
    },
  };
}

export interface BarGaugeOptions {
  readonly description: string;
  readonly queries: readonly Query[];
  readonly unit: string;
  readonly noValue?: string;
}

export function barGauge(title: string, options: BarGaugeOptions): Unplaced<BarGaugePanel> {
  return {
    type: 'bargauge',
    title,
    description: options.description,
    datasource: DATASOURCE,
    targets: targets(options.queries, 'instant', 'time_series'),
    fieldConfig: {
      defaults: {
        unit: options.unit,
        decimals: 0,
        min: 0,
        ...(options.noValue === undefined ? {} : { noValue: options.noValue }),
        color: { mode: 'thresholds' },
        thresholds: thresholds('blue'),
      },
      overrides: [],
    },
    options: {
      reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
      orientation: 'horizontal',
      displayMode: 'gradient',
      valueMode: 'color',
      namePlacement: 'auto',
      showUnfilled: true,
      sizing: 'auto',
      minVizWidth: 8,
      minVizHeight: 16,
      maxVizHeight: 300,
    },
  };
}

export function text(title: string, description: string, content: string): Unplaced<TextPanel> {
  return { type: 'text', title, description, options: { mode: 'markdown', content } };
}

export function sized(panel: Unplaced<Panel>, w: number, h: number): Sized {
  return { panel, w, h };
}

/**
 * Rows top to bottom, each row's panels left to right, wrapping at the grid's 24 columns;
 * ids count from 1 in that order, so the output depends only on the definition.
 */
export function layout(rows: readonly Row[]): Panel[] {
  const panels: Panel[] = [];
  let id = 1;
  let y = 0;
  for (const row of rows) {
    const rowPanel: RowPanel = { type: 'row', id: id++, title: row.title, collapsed: false, panels: [], gridPos: { h: 1, w: GRID_COLUMNS, x: 0, y } };
    panels.push(rowPanel);
    y += 1;
    let x = 0;
    let lineHeight = 0;
    for (const { panel, w, h } of row.panels) {
      if (w > GRID_COLUMNS) throw new Error(`panel "${panel.title}" is ${w} columns wide; the grid has ${GRID_COLUMNS}`);
      if (x + w > GRID_COLUMNS) {
        y += lineHeight;
        x = 0;
        lineHeight = 0;
      }
      panels.push({ ...panel, id: id++, gridPos: { h, w, x, y } } as Panel);
      x += w;
      lineHeight = Math.max(lineHeight, h);
    }
    y += lineHeight;
  }
  return panels;
}
