// A text picture of each dashboard (rows, panels, what each shows) for dashboards/README.md, generated so it cannot drift from the JSON.

import type { Dashboard, Panel } from './grafana-model.ts';

export const OUTLINE_BEGIN = '<!-- BEGIN generated panel outline: npm run dashboards -->';
export const OUTLINE_END = '<!-- END generated panel outline -->';

const PANEL_KIND: Readonly<Record<Panel['type'], string>> = {
  row: 'row',
  stat: 'stat',
  timeseries: 'time series',
  table: 'table',
  bargauge: 'bar gauge',
  text: 'text',
};

function firstSentence(text: string): string {
  const end = text.search(/\.(\s|$)/);
  return end === -1 ? text : text.slice(0, end + 1);
}

/** One panel line: kind, title, and the first sentence of its description (what it shows). */
function panelLine(panel: Panel): string {
  const kind = PANEL_KIND[panel.type].padEnd(11);
  const intent = panel.type === 'row' ? '' : ` — ${firstSentence(panel.description)}`;
  return `  ${kind} ${panel.title}${intent}`;
}

function outline(dashboard: Dashboard): string {
  const variables = dashboard.templating.list.map((variable) => variable.name).join(', ');
  const lines = [`### ${dashboard.title}`, '', `uid \`${dashboard.uid}\`, file \`dashboards/${dashboard.uid}.json\`; variables: ${variables}.`, '', '```'];
  for (const panel of dashboard.panels) {
    if (panel.type === 'row') {
      if (lines[lines.length - 1] !== '```') lines.push('');
      lines.push(`── ${panel.title} ${'─'.repeat(Math.max(3, 60 - panel.title.length))}`);
    } else {
      lines.push(panelLine(panel));
    }
  }
  lines.push('```');
  return lines.join('\n');
}

export function renderOutline(dashboards: readonly Dashboard[]): string {
  return `${OUTLINE_BEGIN}\n\n${dashboards.map(outline).join('\n\n')}\n\n${OUTLINE_END}`;
}

/** The README with its outline section replaced; throws when the markers are missing. */
export function withOutline(readme: string, dashboards: readonly Dashboard[]): string {
  const begin = readme.indexOf(OUTLINE_BEGIN);
  const end = readme.indexOf(OUTLINE_END);
  if (begin === -1 || end === -1 || end < begin) throw new Error(`dashboards/README.md needs the lines ${OUTLINE_BEGIN} and ${OUTLINE_END}`);
  return `${readme.slice(0, begin)}${renderOutline(dashboards)}${readme.slice(end + OUTLINE_END.length)}`;
}
