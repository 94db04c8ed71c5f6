// Queue URLs: the account, name and region they name, the queue ARN IAM matches, and a clear refusal for anything else (never a throw).
import t from 'tap';
import fc from 'fast-check';
import { parseQueueUrl, queueArn } from '../../src/catalog/queue-url.ts';

t.test('the URL forms AWS gives name their account, queue and region', async (t) => {
  const cases: [string, string | undefined, string][] = [
    ['https://sqs.us-east-1.amazonaws.com/111122223333/kms-changes', 'us-east-1', 'arn:aws:sqs:us-east-1:111122223333:kms-changes'],
    ['https://eu-west-1.queue.amazonaws.com/111122223333/kms-changes', 'eu-west-1', 'arn:aws:sqs:eu-west-1:111122223333:kms-changes'],
    ['https://queue.amazonaws.com/111122223333/kms-changes', 'us-east-1', 'arn:aws:sqs:us-east-1:111122223333:kms-changes'],
    ['https://sqs.cn-north-1.amazonaws.com.cn/111122223333/kms_changes', 'cn-north-1', 'arn:aws-cn:sqs:cn-north-1:111122223333:kms_changes'],
    ['https://sqs.us-gov-west-1.amazonaws.com/111122223333/kms-changes.fifo', 'us-gov-west-1', 'arn:aws-us-gov:sqs:us-gov-west-1:111122223333:kms-changes.fifo'],
    ['https://sqs-fips.us-east-2.amazonaws.com/111122223333/kms-changes/', 'us-east-2', 'arn:aws:sqs:us-east-2:111122223333:kms-changes'],
  ];
  for (const [url, region, arn] of cases) {
    const queue = parseQueueUrl(url);
    if (typeof queue === 'string') {
      t.fail(`${url}: ${queue}`);
      continue;
    }
    t.equal(queue.region, region, url);
    t.equal(queueArn(queue, queue.region!), arn, url);
  }
  const local = parseQueueUrl('http://127.0.0.1:4566/000000000000/kms-changes');
  t.same(local, { url: 'http://127.0.0.1:4566/000000000000/kms-changes', origin: 'http://127.0.0.1:4566', account: '000000000000', name: 'kms-changes', region: undefined }, 'a local endpoint names no region');
});

t.test('anything else is refused with the reason', async (t) => {
  t.equal(parseQueueUrl('kms-changes'), 'expected a queue URL such as https://sqs.us-east-1.amazonaws.com/111122223333/kms-changes, got "kms-changes"');
  t.equal(parseQueueUrl('ftp://sqs.us-east-1.amazonaws.com/111122223333/q'), 'expected an https:// queue URL, got the scheme "ftp:"');
  t.equal(parseQueueUrl('https://sqs.us-east-1.amazonaws.com/111122223333/q?Action=ReceiveMessage'), 'expected a queue URL without query, fragment or credentials, got "https://sqs.us-east-1.amazonaws.com/111122223333/q?Action=ReceiveMessage"');
  t.equal(parseQueueUrl('https://sqs.us-east-1.amazonaws.com/1111/q'), 'expected the path /ACCOUNT/QUEUE-NAME (a 12-digit account, a name of 1 to 80 letters, digits, \'-\', \'_\'), got "/1111/q"');
  t.equal(parseQueueUrl(`https://sqs.us-east-1.amazonaws.com/111122223333/${'q'.repeat(81)}`), `expected the path /ACCOUNT/QUEUE-NAME (a 12-digit account, a name of 1 to 80 letters, digits, '-', '_'), got "/111122223333/${'q'.repeat(81)}"`);
});

t.test('property: a URL built from any account, name and region parses back to them; any string gives a queue or a reason, never a throw', async (t) => {
  const name = fc.stringMatching(/^[A-Za-z0-9_-]{1,80}$/);
  const account = fc.stringMatching(/^\d{12}$/);
  const region = fc.constantFrom('us-east-1', 'eu-central-2', 'ap-southeast-4', 'cn-northwest-1', 'us-gov-east-1');
  fc.assert(
    fc.property(account, name, region, (a, n, r) => {
      const queue = parseQueueUrl(`https://sqs.${r}.amazonaws.com${r.startsWith('cn-') ? '.cn' : ''}/${a}/${n}`);
      return typeof queue !== 'string' && queue.account === a && queue.name === n && queue.region === r;
    }),
  );
  fc.assert(fc.property(fc.string(), (text) => ['string', 'object'].includes(typeof parseQueueUrl(text))));
  t.pass('held for every generated input');
});
