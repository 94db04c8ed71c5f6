// Published key policies and attacker shapes against the findings a careful reviewer expects (expected-findings.json).
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { changeDetails } from '../../src/classify/change-details.ts';
import { classifyRecord } from '../../src/classify/kms-change.ts';
import { findingsOf } from '../../src/findings/findings-of.ts';
import { KEY_POLICIES, keyPolicyFixture, putKeyPolicyRecord } from '../support/key-policy-record.ts';

interface Case {
  organisationAccounts?: string[];
  organisationId?: string;
  findings: { name: string; statement: string | null; principal: string | null }[];
}

const expected = JSON.parse(readFileSync(join(KEY_POLICIES, 'expected-findings.json'), 'utf8')) as { cases: Record<string, Case[]> };

for (const [file, cases] of Object.entries(expected.cases)) {
  t.test(file, async (t) => {
    const record = putKeyPolicyRecord(keyPolicyFixture(file));
    const classified = classifyRecord(record);
    if (classified.kind !== 'change') throw new Error(`fixture record did not classify: ${JSON.stringify(classified)}`);
    const details = changeDetails(classified.change, record);
    for (const want of cases) {
      const options = {
        organisationAccounts: new Set(want.organisationAccounts ?? []),
        ...(want.organisationId === undefined ? {} : { organisationId: want.organisationId }),
        minDeletionWindowDays: 30,
      };
      const got = findingsOf(classified.change, details, options).map((f) => ({ name: f.name, statement: f.evidence.statement ?? null, principal: f.evidence.principal ?? null }));
      t.same(got, want.findings, `organisation ${JSON.stringify(want.organisationAccounts ?? [])} ${want.organisationId ?? ''}`);
    }
  });
}
