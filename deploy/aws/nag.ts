// cdk-nag's AwsSolutions checks for the stacks, and the one way to acknowledge a finding: with a reason, recorded so tests can hold every one to account.
import { Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/** One acknowledged finding: which rule (cdk-nag v3 ids, `AwsSolutions-IAM5[Resource::…]` for one finding of a rule), where, and why it is right here. */
export interface Acknowledgement {
  readonly path: string;
  readonly id: string;
  readonly reason: string;
}

const RECORDED = new WeakMap<object, Acknowledgement[]>();

/** Whether acknowledge() takes effect; the tests synthesize once without, to see that each one answers a real finding. */
export interface NagOptions {
  readonly acknowledge: boolean;
}

/**
 * Acknowledges a cdk-nag finding on a construct (and its children) with the reason it does not apply.
 * cdk-nag v3 replaced NagSuppressions with CDK's own `Validations.of(construct).acknowledge()`.
 */
export function acknowledge(construct: IConstruct, options: NagOptions, id: string, reason: string): void {
  const root = construct.node.root;
  const list = RECORDED.get(root) ?? [];
  RECORDED.set(root, list);
  list.push({ path: construct.node.path, id, reason });
  if (options.acknowledge) Validations.of(construct).acknowledge({ id, reason });
}

/** Every acknowledgement made under this app, in the order made. */
export function acknowledgements(app: IConstruct): readonly Acknowledgement[] {
  return RECORDED.get(app.node.root) ?? [];
}
