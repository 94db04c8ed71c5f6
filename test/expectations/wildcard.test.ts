// IAM-style wildcards: `*` crosses `/` and `:`, `?` is one character, everything else is literal.
import t from 'tap';
import fc from 'fast-check';
import { compileWildcard, wildcardMatch } from '../../src/expectations/wildcard.ts';

t.test('ARN and user agent patterns', async (t) => {
  const cases: [string, string, boolean][] = [
    ['arn:aws:iam::*:role/ci/*', 'arn:aws:iam::111122223333:role/ci/deploy/terraform', true],
    ['arn:aws:iam::*:role/ci/*', 'arn:aws:iam::111122223333:role/ops/ci/x', false],
    ['arn:aws:iam::11112222333?:root', 'arn:aws:iam::111122223333:root', true],
    ['arn:aws:iam::11112222333?:root', 'arn:aws:iam::11112222333:root', false],
    ['*Terraform/*', 'APN/1.0 HashiCorp/1.0 Terraform/1.9.8 (+https://www.terraform.io)', true],
    ['alias/ci-*', 'alias/ci-', true],
    ['alias/ci-*', 'alias/cd-x', false],
    // Regex metacharacters are literal.
    ['alias/a.b+(c)', 'alias/a.b+(c)', true],
    ['alias/a.b+(c)', 'alias/aXb+(c)', false],
    ['*', '', true],
    ['', '', true],
    ['', 'x', false],
    ['**a**', 'a', true],
  ];
  for (const [pattern, text, want] of cases) t.equal(compileWildcard(pattern)(text), want, `${pattern} ~ ${text}`);
});

t.test('agrees with the obvious regular expression', async (t) => {
  const alphabet = fc.constantFrom('a', 'b', '/', ':', '.');
  const patternChar = fc.constantFrom('a', 'b', '/', ':', '.', '*', '?');
  fc.assert(
    fc.property(fc.array(patternChar, { maxLength: 8 }).map((c) => c.join('')), fc.array(alphabet, { maxLength: 12 }).map((c) => c.join('')), (pattern, text) => {
      const regex = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\/]/g, '\\$&').replace(/\*/g, '[^]*').replace(/\?/g, '[^]')}$`);
      return wildcardMatch(pattern, text) === regex.test(text);
    }),
    { numRuns: 2000 },
  );
  t.pass('2000 random patterns and texts');
});

t.test('a pattern full of stars against a long user agent stays fast', async (t) => {
  const started = performance.now();
  const text = 'a'.repeat(5000);
  t.equal(wildcardMatch('*a*a*a*a*a*a*a*a*a*a*b', text), false);
  // A backtracking regex takes far longer than this on the same input; the two-pointer match is O(pattern × text).
  t.ok(performance.now() - started < 500, 'under half a second');
});
