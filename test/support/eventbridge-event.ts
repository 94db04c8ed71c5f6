// An EventBridge event as CloudTrail puts it on the default bus, around a CloudTrail record: what a rule sends to an API destination or a Firehose stream.

/** The envelope of https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-service-event-cloudtrail.html around `record` (an object or its JSON text). */
export function eventBridgeEvent(record: string | Record<string, unknown>, options: { readonly id?: string; readonly detailType?: string } = {}): Record<string, unknown> {
  const detail = typeof record === 'string' ? (JSON.parse(record) as Record<string, unknown>) : record;
  const eventSource = typeof detail['eventSource'] === 'string' ? detail['eventSource'] : 'kms.amazonaws.com';
  return {
    version: '0',
    id: options.id ?? '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
    'detail-type': options.detailType ?? (detail['eventType'] === 'AwsServiceEvent' ? 'AWS Service Event via CloudTrail' : 'AWS API Call via CloudTrail'),
    source: `aws.${eventSource.split('.')[0] ?? 'kms'}`,
    account: detail['recipientAccountId'] ?? '111122223333',
    time: detail['eventTime'],
    region: detail['awsRegion'] ?? 'us-east-1',
    resources: [],
    detail,
  };
}

/** The same event as the message body an EventBridge rule's SQS target delivers (its JSON text), its id taken from the record's eventID. */
export function eventBridgeMessage(record: string, detailType?: string): string {
  const detail = JSON.parse(record) as Record<string, unknown>;
  return JSON.stringify(eventBridgeEvent(detail, { id: `eb-${String(detail['eventID'] ?? 'event')}`, ...(detailType === undefined ? {} : { detailType }) }));
}
