// The notification templates render with the real amtool (Alertmanager's own template functions and sample data).
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '../../..');

function render(text: string): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync('amtool', ['template', 'render', `--template.glob=${join(ROOT, 'alerts/templates/kms.tmpl')}`, `--template.text=${text}`], { encoding: 'utf8' });
  if (result.error !== undefined) throw new Error(`amtool not found: run scripts/install-test-tools.sh (${result.error.message})`);
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

// amtool's sample data: status "alertstatus", two alerts with empty labels and annotations.
t.test('kms.title: status in capitals, the count of firing alerts only when firing', async (t) => {
  const out = render('{{ template "kms.title" . }}');
  t.equal(out.status, 0, out.stderr);
  t.equal(out.stdout.trim(), '[ALERTSTATUS]');
});

t.test('kms.sms: one short line, with the alert count when there is more than one', async (t) => {
  const out = render('{{ template "kms.sms" . }}');
  t.equal(out.status, 0, out.stderr);
  t.equal(out.stdout.trim(), 'ALERTSTATUS  (2 alerts)');
  t.notMatch(out.stdout.trim(), /\n/);
});

t.test('kms.text: one block per alert with its runbook line', async (t) => {
  const out = render('{{ template "kms.text" . }}');
  t.equal(out.status, 0, out.stderr);
  t.equal(out.stdout.match(/^Runbook: /gm)?.length, 2);
});

t.test('a template that does not exist fails, so the tests above can fail', async (t) => {
  const out = render('{{ template "kms.nope" . }}');
  t.not(out.status, 0);
});
