import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as sns from 'aws-cdk-lib/aws-sns';
import { AwsSolutionsChecks } from 'cdk-nag';
import {
  KEY_ARN, OPERATOR_TOPIC, SECRET_ARN, TOPIC_A, TOPIC_B, acknowledgements, assertNagClean, build, reportedViolations,
} from './helpers';

/** Context sets that between them switch on every optional part of the stack. */
const CONFIGS: Record<string, Record<string, unknown>> = {
  defaults: {},
  everything: {
    architecture: 'arm64',
    secretName: 'slack/webhook',
    secretKmsKeyArn: KEY_ARN,
    operatorEmail: 'ops@example.com',
    exampleAlarm: 'true',
    logRetentionDays: '14',
    notifierEnv: '{"RUST_LOG":"info"}',
  },
  existing: { secretArn: SECRET_ARN, topicArns: `${TOPIC_A},${TOPIC_B}`, operatorTopicArn: OPERATOR_TOPIC, exampleAlarm: 'true' },
  createdSecretWithKey: { secretKmsKeyArn: KEY_ARN },
  batching: { batching: 'true', exampleAlarm: 'true', operatorEmail: 'ops@example.com' },
  batchingExisting: { batching: 'true', batchingWindowSeconds: '0', secretArn: SECRET_ARN, topicArns: `${TOPIC_A},${TOPIC_B}`, operatorTopicArn: OPERATOR_TOPIC },
};

/** The acknowledgements in the code, and nothing more. */
const EXPECTED_ACKS = [
  { path: 'WebhookSecret', id: 'AwsSolutions-SMG4' },
  { path: 'FailureQueue', id: 'AwsSolutions-SQS3' },
];

describe('cdk-nag AwsSolutions', () => {
  for (const [name, context] of Object.entries(CONFIGS)) {
    it(`${name}: no unacknowledged errors or warnings`, () => assertNagClean(context));
  }

  it('defaults with CDK\'s built-in CloudFormation validation too: the synth report is empty', () => {
    const { app, outdir } = build(CONFIGS.defaults, {}, true, true);
    assert.doesNotThrow(() => app.synth());
    assert.deepEqual(reportedViolations(outdir), []);
  });

  it('acknowledgements are exactly the known ones, each with a reason', () => {
    const createsAll = acknowledgements(build(CONFIGS.defaults).app);
    assert.deepEqual(createsAll.map(({ path: p, id }) => ({ path: p, id })), EXPECTED_ACKS);
    for (const a of createsAll) assert.ok(a.reason.length > 40, `reason for ${a.id}`);
    // with an existing secret there is nothing to rotate, so no SMG4 acknowledgement
    assert.deepEqual(acknowledgements(build(CONFIGS.existing).app).map((a) => a.id), ['AwsSolutions-SQS3']);
    // the queue and dead-letter queue of batching need none
    assert.deepEqual(acknowledgements(build(CONFIGS.batching).app).map(({ path: p, id }) => ({ path: p, id })), EXPECTED_ACKS);
  });

  it('a new finding is caught (the check is live)', () => {
    const { app, stack, outdir } = build();
    new sns.Topic(stack, 'UnprotectedTopic');
    const direct = new AwsSolutionsChecks().validateScope(app);
    assert.deepEqual(direct.violations.map((v) => v.ruleName), ['AwsSolutions-SNS3']);
    assert.throws(() => app.synth(), /Validation failed/);
    assert.equal(reportedViolations(outdir).length, 1);
  });
});
