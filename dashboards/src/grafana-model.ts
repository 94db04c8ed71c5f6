// The part of Grafana's dashboard JSON model (schemaVersion 39) these dashboards use, typed so a misspelt field or option fails to compile.

// Field names and values follow the JSON Grafana 10.4 and 11 save (and the Grafana
// Foundation SDK's generated types): what Grafana leaves out it fills with its defaults
// on load, so only what differs from them is modelled here.

export const SCHEMA_VERSION = 39;

export interface DataSourceRef {
  readonly type: 'prometheus';
  readonly uid: string;
}

export interface GridPos {
  readonly h: number;
  readonly w: number;
  readonly x: number;
  readonly y: number;
}

export interface PrometheusTarget {
  readonly datasource: DataSourceRef;
  readonly refId: string;
  readonly expr: string;
  readonly legendFormat: string;
  /** Grafana runs a range query, an instant query, or both, from these two flags. */
  readonly range: boolean;
  readonly instant: boolean;
  readonly format: 'time_series' | 'table';
  readonly editorMode: 'code';
}

export interface ThresholdStep {
  readonly color: string;
  /** null is the base step, from minus infinity. */
  readonly value: number | null;
}

export interface Thresholds {
  readonly mode: 'absolute';
  readonly steps: readonly ThresholdStep[];
}

export interface ValueMappingResult {
  readonly text: string;
  readonly color?: string;
  readonly index: number;
}

export interface ValueMapping {
  readonly type: 'value';
  readonly options: Readonly<Record<string, ValueMappingResult>>;
}

export interface FieldColor {
  readonly mode: 'palette-classic' | 'thresholds' | 'fixed';
  readonly fixedColor?: string;
}

export interface TimeSeriesFieldCustom {
  readonly drawStyle: 'line' | 'bars';
  readonly lineWidth: number;
  readonly fillOpacity: number;
  readonly showPoints: 'never' | 'auto';
  readonly stacking: { readonly mode: 'none' | 'normal'; readonly group: string };
  readonly axisSoftMin: number;
  readonly thresholdsStyle: { readonly mode: 'off' | 'line' | 'dashed' };
}

export interface TableFieldCustom {
  readonly align: 'auto';
  readonly cellOptions: { readonly type: 'auto' | 'color-text' | 'color-background' };
  readonly filterable: boolean;
}

export interface FieldDefaults<Custom> {
  readonly unit?: string;
  readonly decimals?: number;
  readonly min?: number;
  readonly noValue?: string;
  readonly color?: FieldColor;
  readonly thresholds?: Thresholds;
  readonly mappings?: readonly ValueMapping[];
  readonly custom?: Custom;
}

export type OverrideProperty =
  | { readonly id: 'displayName'; readonly value: string }
  | { readonly id: 'unit'; readonly value: string }
  | { readonly id: 'decimals'; readonly value: number }
  | { readonly id: 'color'; readonly value: FieldColor }
  | { readonly id: 'thresholds'; readonly value: Thresholds }
  | { readonly id: 'custom.cellOptions'; readonly value: { readonly type: 'color-text' | 'color-background' } }
  | { readonly id: 'custom.width'; readonly value: number };

export interface FieldOverride {
  readonly matcher: { readonly id: 'byName'; readonly options: string };
  readonly properties: readonly OverrideProperty[];
}

export interface FieldConfig<Custom> {
  readonly defaults: FieldDefaults<Custom>;
  readonly overrides: readonly FieldOverride[];
}

export type Transformation =
  | { readonly id: 'merge'; readonly options: Record<string, never> }
  | {
      readonly id: 'organize';
      readonly options: {
        readonly excludeByName: Readonly<Record<string, boolean>>;
        readonly indexByName: Readonly<Record<string, number>>;
        readonly renameByName: Readonly<Record<string, string>>;
      };
    }
  | { readonly id: 'sortBy'; readonly options: { readonly fields: Record<string, never>; readonly sort: readonly { readonly field: string; readonly desc: boolean }[] } };

export interface ReduceOptions {
  readonly calcs: readonly ('lastNotNull' | 'last' | 'sum' | 'max' | 'mean')[];
  readonly fields: string;
  readonly values: boolean;
}

export interface LegendOptions {
  readonly showLegend: boolean;
  readonly displayMode: 'list' | 'table';
  readonly placement: 'bottom' | 'right';
  readonly calcs: readonly ('sum' | 'max' | 'mean' | 'lastNotNull')[];
}

interface PanelBase {
  readonly id: number;
  readonly title: string;
  readonly gridPos: GridPos;
}

interface QueryPanel extends PanelBase {
  /** Shown as the panel's (i) tooltip: what the panel counts and which alert it relates to. */
  readonly description: string;
  readonly datasource: DataSourceRef;
  readonly targets: readonly PrometheusTarget[];
  readonly transformations?: readonly Transformation[];
}

export interface RowPanel extends PanelBase {
  readonly type: 'row';
  readonly collapsed: false;
  readonly panels: readonly never[];
}

export interface TimeSeriesPanel extends QueryPanel {
  readonly type: 'timeseries';
  readonly fieldConfig: FieldConfig<TimeSeriesFieldCustom>;
  readonly options: {
    readonly legend: LegendOptions;
    readonly tooltip: { readonly mode: 'multi' | 'single'; readonly sort: 'desc' | 'none' };
  };
}

export interface StatPanel extends QueryPanel {
  readonly type: 'stat';
  readonly fieldConfig: FieldConfig<never>;
  readonly options: {
    readonly reduceOptions: ReduceOptions;
    readonly colorMode: 'value' | 'background' | 'none';
    readonly graphMode: 'none' | 'area';
    readonly justifyMode: 'auto';
    readonly orientation: 'auto';
    readonly textMode: 'auto' | 'value_and_name' | 'value';
    readonly showPercentChange: false;
    readonly wideLayout: true;
  };
}

export interface TablePanel extends QueryPanel {
  readonly type: 'table';
  readonly fieldConfig: FieldConfig<TableFieldCustom>;
  readonly options: {
    readonly showHeader: true;
    readonly cellHeight: 'sm';
    readonly footer: { readonly show: boolean; readonly reducer: readonly ('sum')[]; readonly fields: string; readonly countRows: false };
    readonly sortBy: readonly { readonly displayName: string; readonly desc: boolean }[];
  };
}

export interface BarGaugePanel extends QueryPanel {
  readonly type: 'bargauge';
  readonly fieldConfig: FieldConfig<never>;
  readonly options: {
    readonly reduceOptions: ReduceOptions;
    readonly orientation: 'horizontal';
    readonly displayMode: 'gradient' | 'basic';
    readonly valueMode: 'color';
    readonly namePlacement: 'auto';
    readonly showUnfilled: true;
    readonly sizing: 'auto';
    readonly minVizWidth: number;
    readonly minVizHeight: number;
    readonly maxVizHeight: number;
  };
}

export interface TextPanel extends PanelBase {
  readonly type: 'text';
  readonly description: string;
  readonly options: { readonly mode: 'markdown'; readonly content: string };
}

export type Panel = RowPanel | TimeSeriesPanel | StatPanel | TablePanel | BarGaugePanel | TextPanel;
export type QueryPanelType = TimeSeriesPanel | StatPanel | TablePanel | BarGaugePanel;

export interface VariableOption {
  readonly selected: boolean;
  readonly text: string | readonly string[];
  readonly value: string | readonly string[];
}

export interface DatasourceVariable {
  readonly type: 'datasource';
  readonly name: string;
  readonly label: string;
  readonly description: string;
  readonly query: 'prometheus';
  readonly current: Record<string, never>;
  readonly hide: 0;
  readonly includeAll: false;
  readonly multi: false;
  readonly options: readonly never[];
  readonly refresh: 1;
  readonly regex: string;
  readonly skipUrlSync: false;
}

export interface QueryVariable {
  readonly type: 'query';
  readonly name: string;
  readonly label: string;
  readonly description: string;
  readonly datasource: DataSourceRef;
  /** `label_values(<series selector>, <label>)`: Grafana asks Prometheus for the label's values on matching series. */
  readonly definition: string;
  readonly query: { readonly query: string; readonly refId: string };
  readonly current: VariableOption;
  readonly hide: 0;
  readonly includeAll: true;
  readonly multi: true;
  /** Sent for "All" instead of an alternation of every value: short, and it also matches series without the label. */
  readonly allValue: '.*';
  readonly options: readonly never[];
  /** 2: on time range change, so values that appeared since the dashboard loaded are offered. */
  readonly refresh: 2;
  readonly regex: string;
  readonly skipUrlSync: false;
  readonly sort: 1;
}

export type Variable = DatasourceVariable | QueryVariable;

export interface DashboardLink {
  readonly type: 'dashboards';
  readonly title: string;
  readonly tags: readonly string[];
  readonly asDropdown: boolean;
  readonly includeVars: true;
  readonly keepTime: true;
  readonly icon: 'external link';
  readonly targetBlank: false;
  readonly tooltip: string;
  readonly url: '';
}

export interface AnnotationQuery {
  readonly builtIn: 1;
  readonly datasource: { readonly type: 'grafana'; readonly uid: '-- Grafana --' };
  readonly enable: true;
  readonly hide: true;
  readonly iconColor: string;
  readonly name: 'Annotations & Alerts';
  readonly type: 'dashboard';
}

export interface Dashboard {
  readonly annotations: { readonly list: readonly AnnotationQuery[] };
  readonly description: string;
  readonly editable: true;
  readonly fiscalYearStartMonth: 0;
  readonly graphTooltip: 0 | 1;
  /** null: Grafana assigns its own database id on import and provisioning; the uid is what links and URLs use. */
  readonly id: null;
  readonly links: readonly DashboardLink[];
  readonly panels: readonly Panel[];
  readonly refresh: string;
  readonly schemaVersion: typeof SCHEMA_VERSION;
  readonly tags: readonly string[];
  readonly templating: { readonly list: readonly Variable[] };
  readonly time: { readonly from: string; readonly to: string };
  readonly timepicker: Record<string, never>;
  readonly timezone: '';
  readonly title: string;
  readonly uid: string;
  readonly version: 1;
  readonly weekStart: '';
}
