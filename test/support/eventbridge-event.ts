// A CloudTrail record as CloudTrail puts it on an EventBridge bus, and as an EventBridge rule's SQS target delivers it: the event JSON.

/** The envelope of https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-service-event-cloudtrail.html around `record` (JSON text). */
export function eventBridgeEvent(record: string, detailType = 'AWS API Call via CloudTrail'): string {
  const detail = JSON.parse(record) as Record<string, unknown>;
  return JSON.stringify({
    version: '0',
    id: `eb-${String(detail['eventID'] ?? 'event')}`,
    'detail-type': detailType,
    source: 'aws.kms',
    account: detail['recipientAccountId'] ?? '111122223333',
    time: detail['eventTime'],
    region: detail['awsRegion'] ?? 'us-east-1',
    resources: [],
    detail,
  });
}
