import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { OPERATOR_TOPIC, TOPIC_A, TOPIC_B, logicalId, synth } from './helpers';

function functionArn(template: Template) {
  return { 'Fn::GetAtt': [logicalId(template, 'AWS::Lambda::Function', 'Function'), 'Arn'] };
}

/** [TopicArn, Endpoint] of every lambda subscription, and SourceArn of every SNS invoke permission. */
function lambdaWiring(template: Template) {
  const subs = Object.values(template.findResources('AWS::SNS::Subscription'))
    .filter((r) => r.Properties.Protocol === 'lambda')
    .map((r) => [r.Properties.TopicArn, r.Properties.Endpoint]);
  const perms = Object.values(template.findResources('AWS::Lambda::Permission'))
    .filter((r) => r.Properties.Principal === 'sns.amazonaws.com')
    .map((r) => [r.Properties.SourceArn, r.Properties.FunctionName, r.Properties.Action]);
  return { subs, perms };
}

describe('alarm topics', () => {
  it('created topic: encrypted with a rotated CMK, HTTPS only, open to CloudWatch alarms, function subscribed', () => {
    const { template } = synth();
    const topicId = logicalId(template, 'AWS::SNS::Topic', 'AlarmTopic');
    const keyId = logicalId(template, 'AWS::KMS::Key', 'TopicKey');
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] } });
    template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: Match.objectLike({
        Statement: Match.arrayWith([Match.objectLike({
          Principal: { Service: 'cloudwatch.amazonaws.com' },
          Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        })]),
      }),
    });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: topicId }],
      PolicyDocument: Match.objectLike({
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({ Effect: 'Allow', Principal: { Service: 'cloudwatch.amazonaws.com' }, Action: 'sns:Publish' }),
        ]),
      }),
    });
    const fn = functionArn(template);
    assert.deepEqual(lambdaWiring(template), {
      subs: [[{ Ref: topicId }, fn]],
      perms: [[{ Ref: topicId }, fn, 'lambda:InvokeFunction']],
    });
    template.hasOutput('AlarmTopicArn', { Value: { Ref: topicId } });
  });

  it('two existing topics: one subscription and one invoke permission each, no alarm topic created', () => {
    const { template } = synth({ topicArns: `${TOPIC_A},${TOPIC_B}` });
    // only the operator topic is created
    assert.deepEqual(Object.keys(template.findResources('AWS::SNS::Topic')), [logicalId(template, 'AWS::SNS::Topic', 'OperatorTopic')]);
    const fn = functionArn(template);
    const { subs, perms } = lambdaWiring(template);
    assert.deepEqual(subs.sort(), [[TOPIC_A, fn], [TOPIC_B, fn]]);
    assert.deepEqual(perms.sort(), [[TOPIC_A, fn, 'lambda:InvokeFunction'], [TOPIC_B, fn, 'lambda:InvokeFunction']]);
    assert.equal(template.findOutputs('AlarmTopicArn')['AlarmTopicArn'], undefined);
  });

  it('accepts topicArns as a JSON array too', () => {
    const { template } = synth({ topicArns: JSON.stringify([TOPIC_A, TOPIC_B]) });
    assert.deepEqual(lambdaWiring(template).subs.map(([t]) => t).sort(), [TOPIC_A, TOPIC_B]);
  });

  it('operator topic: created by default, or the given ARN; e-mail subscription on request', () => {
    const created = synth({ operatorEmail: 'ops@example.com' }).template;
    hasEmailSubscription(created, { Ref: logicalId(created, 'AWS::SNS::Topic', 'OperatorTopic') });
    const existing = synth({ operatorTopicArn: OPERATOR_TOPIC, operatorEmail: 'ops@example.com' }).template;
    hasEmailSubscription(existing, OPERATOR_TOPIC);
    // the function is never subscribed to the operator topic
    for (const t of [created, existing]) {
      for (const [topic] of lambdaWiring(t).subs) {
        assert.notDeepEqual(topic, OPERATOR_TOPIC);
        assert.notDeepEqual(topic, { Ref: logicalId(created, 'AWS::SNS::Topic', 'OperatorTopic') });
      }
    }
    synth().template.resourcePropertiesCountIs('AWS::SNS::Subscription', { Protocol: 'email' }, 0);
  });

  it('rejects bad topic settings', () => {
    assert.throws(() => synth({ topicArns: 'not-an-arn' }), /not an SNS topic ARN/);
    assert.throws(() => synth({ topicArns: `${TOPIC_A},${TOPIC_A}` }), /twice/);
    assert.throws(() => synth({ topicArns: `${TOPIC_A}.fifo` }), /FIFO/);
    assert.throws(() => synth({ topicArns: TOPIC_A, operatorTopicArn: TOPIC_A }), /must not be one of topicArns/);
    assert.throws(() => synth({ operatorEmail: 'nope' }), /e-mail/);
  });
});

function hasEmailSubscription(template: Template, topicArn: unknown): void {
  template.resourcePropertiesCountIs('AWS::SNS::Subscription', { Protocol: 'email' }, 1);
  template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com', TopicArn: topicArn });
}
