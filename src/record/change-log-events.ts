// One OpenTelemetry log event per KMS change, carrying the identities that metrics leave out.

import { isIP } from 'node:net';
import type { Attributes, Logger } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api';
import { COMPLIANCE, RULE_ID, SEVERITY_BY_RISK } from '../catalog/kms-events.ts';
import type { Risk } from '../catalog/kms-events.ts';
import type { KmsChange } from '../classify/kms-change.ts';

export const CHANGE_EVENT_NAME = 'aws.kms.config_change';

const SEVERITY: Readonly<Record<Risk, { readonly number: SeverityNumber; readonly text: string }>> = {
  high: { number: SeverityNumber.ERROR, text: 'ERROR' },
  medium: { number: SeverityNumber.WARN, text: 'WARN' },
  low: { number: SeverityNumber.INFO, text: 'INFO' },
};

const DAY_MS = 86_400_000;
const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/;

/** "arn:…:assumed-role/ops/alice scheduled key 1234… for deletion in 7 days" */
export function describeChange(change: KmsChange): string {
  const who = change.principal.arn ?? `${change.principal.type} principal`;
  // The date AWS answered when there is one; else the window asked for (a failed request, a multi-Region primary waiting on its replicas).
  const days = change.deletion !== undefined ? String(Math.round((change.deletion.date - change.eventTime) / DAY_MS)) : String(change.pendingWindowInDays ?? '?');
  const phrase = change.entry.phrase
    .replace('{key}', change.key?.arn ?? change.key?.id ?? 'unknown')
    .replace('{store}', change.customKeyStoreId ?? 'unknown')
    .replace('{alias}', change.aliasName ?? 'unknown')
    .replace('{grantee}', change.grantee ?? 'a grantee')
    .replace('{days}', days);
  if (change.outcome === 'success') return `${who} ${phrase}`;
  return `${who} failed (${change.errorCode ?? 'error'}): ${phrase}`;
}

/** The log record's attributes: OTel semantic conventions where one exists, `aws.*` otherwise. */
export function changeAttributes(change: KmsChange): Attributes {
  const attributes: Attributes = {
    'cloud.provider': 'aws',
    'cloud.account.id': change.accountId,
    'cloud.region': change.region,
    'aws.cloudtrail.event_id': change.eventId,
    'aws.cloudtrail.event_name': change.entry.eventName,
    'aws.cloudtrail.event_source': change.entry.eventSource,
    'aws.cloudtrail.event_time': new Date(change.eventTime).toISOString(),
    'aws.request_id': change.requestId,
    'aws.kms.change.category': change.entry.category,
    'aws.kms.change.risk': change.entry.risk,
    'aws.kms.change.outcome': change.outcome,
    'aws.kms.key.id': change.key?.id,
    'aws.kms.key.arn': change.key?.arn,
    'cloud.resource_id': change.key?.arn,
    'aws.kms.alias.name': change.aliasName,
    'aws.kms.custom_key_store.id': change.customKeyStoreId,
    'aws.kms.grantee_principal': change.grantee,
    'aws.kms.deletion_date': change.deletion === undefined ? undefined : new Date(change.deletion.date).toISOString(),
    'aws.kms.pending_window_days': change.deletion?.pendingWindowInDays ?? change.pendingWindowInDays,
    'user.id': change.principal.arn,
    'aws.principal.type': change.principal.type,
    'aws.principal.arn': change.principal.arn,
    'aws.principal.session_issuer.arn': change.principal.sessionIssuerArn,
    'aws.principal.invoked_by': change.principal.invokedBy,
    // An IP address or a host name (a service principal, for calls a service made on a caller's behalf); never "AWS Internal".
    'client.address': change.sourceIp !== undefined && (isIP(change.sourceIp) !== 0 || HOST_NAME.test(change.sourceIp)) ? change.sourceIp : undefined,
    'user_agent.original': change.userAgent,
    'error.type': change.errorCode,
    'error.message': change.errorMessage,
    'security_rule.name': RULE_ID,
    'security_rule.category': change.entry.category,
    'security_rule.reference': COMPLIANCE.join(','),
    'alert.severity': SEVERITY_BY_RISK[change.entry.risk],
  };
  for (const name of Object.keys(attributes)) if (attributes[name] === undefined) delete attributes[name];
  return attributes;
}

export class ChangeLogEvents {
  private readonly logger: Logger | undefined;

  /** Without a logger (no log sink configured) no event is built: replay at full speed pays nothing. */
  constructor(logger: Logger | undefined) {
    this.logger = logger;
  }

  emit(change: KmsChange, receivedAt: number): void {
    if (this.logger === undefined) return;
    const severity = SEVERITY[change.entry.risk];
    this.logger.emit({
      eventName: CHANGE_EVENT_NAME,
      timestamp: change.eventTime,
      observedTimestamp: receivedAt,
      severityNumber: severity.number,
      severityText: severity.text,
      body: describeChange(change),
      attributes: changeAttributes(change),
    });
  }
}
