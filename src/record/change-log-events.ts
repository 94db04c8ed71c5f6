// One OpenTelemetry log event per KMS change (and per change of the pipeline itself), carrying the identities that metrics leave out.

import { isIP } from 'node:net';
import type { Attributes, Logger } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api';
import { COMPLIANCE, RULE_ID, SEVERITY_BY_RISK } from '../catalog/kms-events.ts';
import type { Risk } from '../catalog/kms-events.ts';
import type { AccountDirectory } from '../accounts-file.ts';
import type { Assessment } from '../classify/assessment.ts';
import type { KmsChange } from '../classify/kms-change.ts';
import type { PipelineChange } from '../classify/pipeline-change.ts';
import type { KeyNames } from '../state/key-state.ts';

export const CHANGE_EVENT_NAME = 'aws.kms.config_change';
export const PIPELINE_CHANGE_EVENT_NAME = 'aws.cloudtrail.pipeline_change';

const SEVERITY: Readonly<Record<Risk, { readonly number: SeverityNumber; readonly text: string }>> = {
  high: { number: SeverityNumber.ERROR, text: 'ERROR' },
  medium: { number: SeverityNumber.WARN, text: 'WARN' },
  low: { number: SeverityNumber.INFO, text: 'INFO' },
};

const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/;

/** How people know keys and accounts: aliases learned from the stream, names from the --accounts file. */
export interface ChangeNames {
  readonly keyNames: KeyNames;
  readonly accounts: AccountDirectory;
}

export const NO_NAMES: ChangeNames = { keyNames: { aliasesOf: () => [], keyOfAlias: () => undefined }, accounts: { organizationId: undefined, accounts: new Map() } };

function aliasesOf(change: KmsChange, names: ChangeNames): readonly string[] {
  const key = change.key;
  if (key === undefined || key.id.startsWith('alias/')) return [];
  return names.keyNames.aliasesOf({ accountId: key.accountId ?? change.accountId, region: key.region ?? change.region, keyId: key.id });
}

/** "alias/payments-db (1234abcd-…)" when the key has a known alias, else its ARN or id. */
function keyText(change: KmsChange, aliases: readonly string[]): string {
  const key = change.key;
  if (key === undefined) return 'unknown';
  if (aliases.length === 0) return key.arn ?? key.id;
  const more = aliases.length > 1 ? ` +${aliases.length - 1} more` : '';
  return `${aliases[0]!}${more} (${key.id})`;
}

/**
 * "arn:…:assumed-role/ops/alice scheduled key alias/payments-db (1234abcd-…) for deletion in 7 days,
 * in account payments-prod; findings: short_deletion_window; expected (rule terraform-routine)"
 */
export function describeChange(change: KmsChange, assessment?: Assessment, names: ChangeNames = NO_NAMES): string {
  const who = change.principal.arn ?? change.principal.invokedBy ?? `${change.principal.type} principal`;
  // The window asked for (AWS's answered date agrees); a failed request or a multi-Region primary waiting on its replicas has it too.
  const days = String(change.deletion?.pendingWindowInDays ?? change.pendingWindowInDays ?? '?');
  const phrase = change.entry.phrase
    // An alias event names its alias already: the key by its id, not by the alias just changed.
    .replace('{key}', keyText(change, change.entry.category === 'alias' ? [] : aliasesOf(change, names)))
    .replace('{store}', change.customKeyStoreId ?? 'unknown')
    .replace('{alias}', change.aliasName ?? 'unknown')
    .replace('{grantee}', change.grantee ?? 'a grantee')
    .replace('{days}', days);
  let text = change.outcome === 'success' ? `${who} ${phrase}` : `${who} failed (${change.errorCode ?? 'error'}): ${phrase}`;
  const account = names.accounts.accounts.get(change.accountId);
  if (account !== undefined) text += `, in account ${account.name}`;
  if (assessment !== undefined && assessment.findingNames.length > 0) text += `; findings: ${assessment.findingNames.join(', ')}`;
  if (assessment?.expectation !== undefined) text += `; expected (rule ${assessment.expectation})`;
  return text;
}

/** What every CloudTrail change, of a key or of the pipeline, shares. */
type RecordedChange = Pick<KmsChange, 'accountId' | 'region' | 'eventId' | 'eventTime' | 'requestId' | 'principal' | 'sourceIp' | 'userAgent' | 'errorCode' | 'errorMessage'> & {
  readonly entry: { readonly eventName: string; readonly eventSource: string };
};

/** Where and when: the record's envelope. */
function envelopeAttributes(change: RecordedChange): Attributes {
  return {
    'cloud.provider': 'aws',
    'cloud.account.id': change.accountId,
    'cloud.region': change.region,
    'aws.cloudtrail.event_id': change.eventId,
    'aws.cloudtrail.event_name': change.entry.eventName,
    'aws.cloudtrail.event_source': change.entry.eventSource,
    'aws.cloudtrail.event_time': new Date(change.eventTime).toISOString(),
    'aws.request_id': change.requestId,
  };
}

/** Who, from where, and the error if the call failed. */
function callerAttributes(change: RecordedChange): Attributes {
  return {
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
  };
}

/** The account's name, environment and owner from --accounts. */
function accountAttributes(names: ChangeNames, accountId: string): Attributes {
  const account = names.accounts.accounts.get(accountId);
  return {
    'aws.account.name': account?.name,
    'aws.account.environment': account?.environment === '' ? undefined : account?.environment,
    'aws.account.owner': account?.owner === '' ? undefined : account?.owner,
  };
}

/** The log record's attributes: OTel semantic conventions where one exists, `aws.*` otherwise. */
export function changeAttributes(change: KmsChange, assessment?: Assessment, names: ChangeNames = NO_NAMES): Attributes {
  const aliases = aliasesOf(change, names);
  const findings = assessment?.findings ?? [];
  const attributes: Attributes = {
    ...envelopeAttributes(change),
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
    ...callerAttributes(change),
    'security_rule.name': RULE_ID,
    'security_rule.category': change.entry.category,
    'security_rule.reference': COMPLIANCE.join(','),
    'alert.severity': findings.length > 0 && change.outcome === 'success' ? 'critical' : SEVERITY_BY_RISK[change.entry.risk],
    ...accountAttributes(names, change.accountId),
    'aws.kms.key.aliases': aliases.length === 0 ? undefined : [...aliases],
    // The names always (empty when none), so a log query can tell "no finding" from "not assessed".
    'aws.kms.change.findings': assessment === undefined ? undefined : [...assessment.findingNames],
    'aws.kms.change.finding_evidence': findings.length === 0 ? undefined : JSON.stringify(findings.map((finding) => ({ finding: finding.name, ...finding.evidence }))),
    'aws.kms.key_policy': assessment?.policy,
    'aws.kms.change.expected': assessment === undefined ? undefined : assessment.expectation !== undefined,
    'aws.kms.change.expectation': assessment?.expectation,
  };
  for (const name of Object.keys(attributes)) if (attributes[name] === undefined) delete attributes[name];
  return attributes;
}

/**
 * "arn:…:assumed-role/ops/alice stopped logging of trail main; blinds the exporter, in account payments-prod"
 * (", its own path" when it names the exporter's log group, stream or rule).
 */
export function describePipelineChange(change: PipelineChange, names: ChangeNames = NO_NAMES): string {
  const who = change.principal.arn ?? change.principal.invokedBy ?? `${change.principal.type} principal`;
  const { target } = change;
  const phrase = change.entry.phrase
    .replace('{trail}', target.trail ?? 'unknown')
    .replace('{logGroup}', target.logGroup ?? 'unknown')
    .replace('{filter}', target.filterName ?? 'unknown')
    .replace('{stream}', target.logStream ?? 'unknown')
    .replace('{retention}', String(target.retentionInDays ?? '?'))
    .replace('{policy}', target.policyName ?? 'unknown')
    .replace('{deliveryStream}', target.deliveryStream ?? 'unknown')
    .replace('{rule}', target.rule ?? 'unknown');
  let text = change.outcome === 'success' ? `${who} ${phrase}` : `${who} failed (${change.errorCode ?? 'error'}): ${phrase}`;
  const succeeded = change.outcome === 'success';
  // A failed call changed nothing: it is an attempt, whichever way it would have cut.
  text += change.blinding === 'blinds' ? (succeeded ? '; blinds the exporter' : '; an attempt to blind the exporter') : succeeded ? '; weakens the pipeline' : '; an attempt to weaken the pipeline';
  if (change.blindingReason !== undefined) text += ` (${change.blindingReason})`;
  if (change.ownPath === true) text += ', on its own path';
  const account = names.accounts.accounts.get(change.accountId);
  if (account !== undefined) text += `, in account ${account.name}`;
  return text;
}

/** The KMS change events' envelope attributes, plus what changed in the pipeline. */
export function pipelineChangeAttributes(change: PipelineChange, names: ChangeNames = NO_NAMES): Attributes {
  const { target } = change;
  const attributes: Attributes = {
    ...envelopeAttributes(change),
    'aws.pipeline.change.category': change.entry.category,
    'aws.pipeline.change.blinding': change.blinding,
    'aws.pipeline.change.blinding_reason': change.blindingReason,
    'aws.pipeline.change.outcome': change.outcome,
    'aws.pipeline.change.own_path': change.ownPath,
    'aws.cloudtrail.trail.name': target.trail,
    'aws.cloudtrail.event_selectors.after': target.selectorsAfter,
    'aws.log.group.names': target.logGroup === undefined ? undefined : [target.logGroup],
    'aws.log.stream.names': target.logStream === undefined ? undefined : [target.logStream],
    'aws.logs.subscription_filter.name': target.filterName,
    'aws.logs.subscription_filter.destination_arn': target.destination,
    'aws.logs.subscription_filter.pattern': target.filterPattern,
    'aws.logs.retention_days': target.retentionInDays,
    'aws.logs.account_policy.name': target.policyName,
    'aws.firehose.delivery_stream.name': target.deliveryStream,
    'aws.events.rule.name': target.rule,
    'aws.events.rule.state': target.ruleState,
    ...callerAttributes(change),
    'alert.severity': pipelineSeverity(change) === 'high' ? 'critical' : 'warning',
    ...accountAttributes(names, change.accountId),
  };
  for (const name of Object.keys(attributes)) if (attributes[name] === undefined) delete attributes[name];
  return attributes;
}

/** A successful blinding change pages; a weakening change or a failed attempt to blind is a ticket. */
function pipelineSeverity(change: PipelineChange): Risk {
  return change.blinding === 'blinds' && change.outcome === 'success' ? 'high' : 'medium';
}

export class ChangeLogEvents {
  private readonly logger: Logger | undefined;
  private readonly names: ChangeNames;

  /** Without a logger (no log sink configured) no event is built: replay at full speed pays nothing. */
  constructor(logger: Logger | undefined, names: ChangeNames = NO_NAMES) {
    this.logger = logger;
    this.names = names;
  }

  emit(change: KmsChange, assessment: Assessment, receivedAt: number): void {
    if (this.logger === undefined) return;
    // A successful change with a finding is dangerous whatever its event's risk.
    const severity = SEVERITY[assessment.findings.length > 0 && change.outcome === 'success' ? 'high' : change.entry.risk];
    this.logger.emit({
      eventName: CHANGE_EVENT_NAME,
      timestamp: change.eventTime,
      observedTimestamp: receivedAt,
      severityNumber: severity.number,
      severityText: severity.text,
      body: describeChange(change, assessment, this.names),
      attributes: changeAttributes(change, assessment, this.names),
    });
  }

  emitPipeline(change: PipelineChange, receivedAt: number): void {
    if (this.logger === undefined) return;
    const severity = SEVERITY[pipelineSeverity(change)];
    this.logger.emit({
      eventName: PIPELINE_CHANGE_EVENT_NAME,
      timestamp: change.eventTime,
      observedTimestamp: receivedAt,
      severityNumber: severity.number,
      severityText: severity.text,
      body: describePipelineChange(change, this.names),
      attributes: pipelineChangeAttributes(change, this.names),
    });
  }
}
