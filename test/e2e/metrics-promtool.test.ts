// The exposition passes the real promtool's lint, with and without the opt-in labels.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { exampleExposition } from '../support/example-exposition.ts';

function promtoolCheck(body: string): { status: number | null; output: string } {
  const result = spawnSync('promtool', ['check', 'metrics'], { input: body, encoding: 'utf8' });
  if (result.error !== undefined) throw new Error(`promtool not found: run scripts/install-test-tools.sh (${result.error.message})`);
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

t.test('promtool check metrics finds nothing to say about the example trail', async (t) => {
  const result = promtoolCheck((await exampleExposition()).body);
  t.equal(result.status, 0);
  t.equal(result.output, '');
});

t.test('nor with the opt-in key_id and principal labels at their limit', async (t) => {
  const result = promtoolCheck((await exampleExposition({ labelKeyId: true, labelPrincipal: true, labelValueLimit: '3' })).body);
  t.equal(result.status, 0);
  t.equal(result.output, '');
});
