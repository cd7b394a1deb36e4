import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { parseSettings } from '../lib/settings';
import { OPERATOR_TOPIC, TOPIC_A, TOPIC_B, logicalId, synth } from './helpers';

const BATCHING = { batching: 'true' };

function resources(template: Template, type: string) {
  return Object.entries(template.findResources(type));
}

function props(template: Template, type: string, constructPath: string) {
  return template.findResources(type)[logicalId(template, type, constructPath)].Properties;
}

function functionTimeout(template: Template): number {
  const fns = resources(template, 'AWS::Lambda::Function');
  assert.equal(fns.length, 1);
  return fns[0][1].Properties.Timeout;
}

function eventSourceMapping(template: Template) {
  const esms = resources(template, 'AWS::Lambda::EventSourceMapping');
  assert.equal(esms.length, 1, 'one event source mapping');
  return esms[0][1].Properties;
}

const arnOf = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });

/** The alarms on one SQS metric, each with its queue's logical id. */
function sqsAlarms(template: Template, metricName: string) {
  return resources(template, 'AWS::CloudWatch::Alarm')
    .map(([, r]) => r.Properties)
    .filter((a) => a.Namespace === 'AWS/SQS' && a.MetricName === metricName)
    .map((a) => ({ queue: a.Dimensions[0].Value['Fn::GetAtt'][0] as string, alarm: a }));
}

describe('batching settings', () => {
  it('batching is off by default; batchingWindowSeconds is unset unless given, and takes 0 to 300', () => {
    const none = parseSettings(() => undefined);
    assert.equal(none.batching, false);
    assert.equal(none.batchingWindowSeconds, undefined);
    for (const [raw, expected] of [['true', true], ['false', false], [true, true], ['YES', true], ['0', false]] as const) {
      assert.equal(parseSettings((k) => (k === 'batching' ? raw : undefined)).batching, expected, `batching=${raw}`);
    }
    for (const [raw, expected] of [['0', 0], ['10', 10], [' 300 ', 300], [45, 45]] as const) {
      assert.equal(parseSettings((k) => (k === 'batchingWindowSeconds' ? raw : undefined)).batchingWindowSeconds, expected, `window=${raw}`);
    }
  });

  it('invalid batching and batchingWindowSeconds values are refused with an error naming the key', () => {
    assert.throws(() => synth({ batching: 'maybe' }), /Invalid context "batching": "maybe" is not true or false/);
    assert.throws(() => synth({ batching: 'on' }), /Invalid context "batching"/);
    for (const bad of ['301', '-1', '1.5', '10s', 'ten', '1e2', 1000, 2.5]) {
      assert.throws(
        () => synth({ ...BATCHING, batchingWindowSeconds: bad }),
        /Invalid context "batchingWindowSeconds": .* must be a whole number of seconds from 0 to 300/,
        `batchingWindowSeconds=${JSON.stringify(bad)}`,
      );
    }
  });
});

describe('batching=true: a queue in front of the function', () => {
  it('queue: SQS-managed SSE, HTTPS only, 14 days, visibility 6 × function timeout + window, 5 receives then the DLQ', () => {
    const { template } = synth(BATCHING);
    const queueId = logicalId(template, 'AWS::SQS::Queue', 'AlarmQueue');
    const dlqId = logicalId(template, 'AWS::SQS::Queue', 'AlarmDeadLetterQueue');
    template.resourceCountIs('AWS::SQS::Queue', 3); // with the failure queue
    const q = props(template, 'AWS::SQS::Queue', 'AlarmQueue');
    assert.equal(q.SqsManagedSseEnabled, true);
    assert.equal(q.KmsMasterKeyId, undefined, 'SSE-SQS, not the aws/sqs key that SNS cannot use');
    assert.equal(q.MessageRetentionPeriod, 14 * 24 * 3600);
    assert.deepEqual(q.RedrivePolicy, { deadLetterTargetArn: arnOf(dlqId), maxReceiveCount: 5 });
    const timeout = functionTimeout(template);
    assert.equal(timeout, 30);
    assert.ok(q.VisibilityTimeout >= 6 * timeout, `visibility ${q.VisibilityTimeout} s ≥ 6 × ${timeout} s`);
    assert.equal(q.VisibilityTimeout, 6 * 30 + 10);
    // a longer window keeps the received messages in flight longer
    const long = synth({ ...BATCHING, batchingWindowSeconds: '300' }).template;
    assert.equal(props(long, 'AWS::SQS::Queue', 'AlarmQueue').VisibilityTimeout, 6 * 30 + 300);
    assertHttpsOnly(template, queueId);
  });

  it('dead-letter queue: SQS-managed SSE, HTTPS only, 14 days, no redrive of its own', () => {
    const { template } = synth(BATCHING);
    const dlqId = logicalId(template, 'AWS::SQS::Queue', 'AlarmDeadLetterQueue');
    const dlq = props(template, 'AWS::SQS::Queue', 'AlarmDeadLetterQueue');
    assert.deepEqual(dlq, { MessageRetentionPeriod: 14 * 24 * 3600, SqsManagedSseEnabled: true });
    assertHttpsOnly(template, dlqId);
    template.hasOutput('AlarmDeadLetterQueueUrl', { Value: { Ref: dlqId } });
    template.hasOutput('AlarmQueueUrl', { Value: { Ref: logicalId(template, 'AWS::SQS::Queue', 'AlarmQueue') } });
  });

  it('event source mapping: batch of 1000, the batching window, ReportBatchItemFailures, at most 2 instances', () => {
    const { template } = synth(BATCHING);
    assert.deepEqual(eventSourceMapping(template), {
      BatchSize: 1000,
      EventSourceArn: arnOf(logicalId(template, 'AWS::SQS::Queue', 'AlarmQueue')),
      FunctionName: { Ref: logicalId(template, 'AWS::Lambda::Function', 'Function') },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      MaximumBatchingWindowInSeconds: 10,
      ScalingConfig: { MaximumConcurrency: 2 },
    });
    const esm120 = eventSourceMapping(synth({ ...BATCHING, batchingWindowSeconds: '120' }).template);
    assert.equal(esm120.MaximumBatchingWindowInSeconds, 120);
    assert.equal(esm120.BatchSize, 1000);
    // Lambda refuses a batch of more than 10 without a window of at least 1 s
    const esm0 = eventSourceMapping(synth({ ...BATCHING, batchingWindowSeconds: 0 }).template);
    assert.equal(esm0.MaximumBatchingWindowInSeconds, 0);
    assert.equal(esm0.BatchSize, 10);
    assert.deepEqual(esm0.ScalingConfig, { MaximumConcurrency: 2 });
  });

  it('created topic: subscribed with protocol sqs and raw delivery off; no Lambda subscription or invoke permission', () => {
    const { template } = synth(BATCHING);
    const topicId = logicalId(template, 'AWS::SNS::Topic', 'AlarmTopic');
    const queueId = logicalId(template, 'AWS::SQS::Queue', 'AlarmQueue');
    assert.deepEqual(queueSubscriptions(template), [[{ Ref: topicId }, arnOf(queueId), false]]);
    template.resourcePropertiesCountIs('AWS::SNS::Subscription', { Protocol: 'lambda' }, 0);
    template.resourcePropertiesCountIs('AWS::Lambda::Permission', { Principal: 'sns.amazonaws.com' }, 0);
    assert.deepEqual(senders(template, queueId), [{ Ref: topicId }]);
  });

  it('existing topics: one sqs subscription each; the queue policy lets exactly those topics send', () => {
    const { template } = synth({ ...BATCHING, topicArns: `${TOPIC_A},${TOPIC_B}`, operatorTopicArn: OPERATOR_TOPIC, operatorEmail: 'ops@example.com' });
    const queueArn = arnOf(logicalId(template, 'AWS::SQS::Queue', 'AlarmQueue'));
    assert.deepEqual(queueSubscriptions(template).sort(), [[TOPIC_A, queueArn, false], [TOPIC_B, queueArn, false]]);
    template.resourcePropertiesCountIs('AWS::SNS::Subscription', { Protocol: 'lambda' }, 0);
    template.resourcePropertiesCountIs('AWS::Lambda::Permission', { Principal: 'sns.amazonaws.com' }, 0);
    assert.deepEqual(senders(template, logicalId(template, 'AWS::SQS::Queue', 'AlarmQueue')).sort(), [TOPIC_A, TOPIC_B]);
    // the operator topic feeds neither the queue nor the function
    template.resourceCountIs('AWS::SNS::Subscription', 3); // two sqs, one e-mail
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', TopicArn: OPERATOR_TOPIC });
  });

  it('dead-letter depth ≥ 1 and oldest message age > 5 min alarm to the operator topic, ALARM and OK', () => {
    for (const context of [BATCHING, { ...BATCHING, topicArns: TOPIC_A, operatorTopicArn: OPERATOR_TOPIC }]) {
      const { template } = synth(context);
      const operator = 'operatorTopicArn' in context ? OPERATOR_TOPIC : { Ref: logicalId(template, 'AWS::SNS::Topic', 'OperatorTopic') };
      const queueId = logicalId(template, 'AWS::SQS::Queue', 'AlarmQueue');
      const dlqId = logicalId(template, 'AWS::SQS::Queue', 'AlarmDeadLetterQueue');

      const depth = sqsAlarms(template, 'ApproximateNumberOfMessagesVisible').find((a) => a.queue === dlqId)?.alarm;
      assert.ok(depth, 'an alarm on the dead-letter queue depth');
      assert.equal(depth.Statistic, 'Maximum');
      assert.equal(depth.Threshold, 1);
      assert.equal(depth.ComparisonOperator, 'GreaterThanOrEqualToThreshold');

      const ages = sqsAlarms(template, 'ApproximateAgeOfOldestMessage');
      assert.deepEqual(ages.map((a) => a.queue), [queueId], 'one age alarm, on the queue (not the DLQ)');
      const age = ages[0].alarm;
      assert.equal(age.Statistic, 'Maximum');
      assert.equal(age.Threshold, 300);
      assert.equal(age.ComparisonOperator, 'GreaterThanThreshold');

      for (const a of [depth, age]) {
        assert.equal(a.EvaluationPeriods, 1);
        assert.equal(a.Period, 300);
        assert.equal(a.TreatMissingData, 'notBreaching');
        assert.deepEqual(a.AlarmActions, [operator]);
        assert.deepEqual(a.OKActions, [operator]);
      }
      // Errors, failure queue, dead-letter queue, age
      template.resourceCountIs('AWS::CloudWatch::Alarm', 4);
    }
  });

  it('the on-failure destination of asynchronous invocations stays', () => {
    const { template } = synth(BATCHING);
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      DestinationConfig: { OnFailure: { Destination: arnOf(logicalId(template, 'AWS::SQS::Queue', 'FailureQueue')) } },
    });
  });
});

describe('batching off', () => {
  it('no queue but the failure queue, no event source mapping, Lambda subscriptions as before', () => {
    for (const context of [{}, { batching: 'false' }, { batching: 'false', batchingWindowSeconds: '60' }]) {
      const { template } = synth(context);
      assert.deepEqual(resources(template, 'AWS::SQS::Queue').map(([id]) => id), [logicalId(template, 'AWS::SQS::Queue', 'FailureQueue')]);
      template.resourceCountIs('AWS::Lambda::EventSourceMapping', 0);
      template.resourcePropertiesCountIs('AWS::SNS::Subscription', { Protocol: 'sqs' }, 0);
      template.resourcePropertiesCountIs('AWS::SNS::Subscription', { Protocol: 'lambda' }, 1);
      template.resourceCountIs('AWS::CloudWatch::Alarm', 2);
      assert.equal(template.findOutputs('AlarmQueueUrl')['AlarmQueueUrl'], undefined);
    }
  });

  it('batchingWindowSeconds without batching=true warns that it has no effect', () => {
    Annotations.fromStack(synth({ batchingWindowSeconds: '60' }).stack)
      .hasWarning('*', Match.stringLikeRegexp('batchingWindowSeconds has no effect without batching=true'));
    Annotations.fromStack(synth().stack).hasNoWarning('*', Match.anyValue());
    Annotations.fromStack(synth({ ...BATCHING, batchingWindowSeconds: '60' }).stack).hasNoWarning('*', Match.anyValue());
  });
});

/** [TopicArn, Endpoint, RawMessageDelivery] of every sqs subscription (an absent RawMessageDelivery counts as false). */
function queueSubscriptions(template: Template) {
  return resources(template, 'AWS::SNS::Subscription')
    .map(([, r]) => r.Properties)
    .filter((p) => p.Protocol === 'sqs')
    .map((p) => [p.TopicArn, p.Endpoint, p.RawMessageDelivery ?? false]);
}

/** The aws:SourceArn of every Allow statement in the queue's policy; each must be sns:SendMessage from SNS. */
function senders(template: Template, queueId: string): unknown[] {
  const policies = resources(template, 'AWS::SQS::QueuePolicy').filter(([, r]) => JSON.stringify(r.Properties.Queues) === JSON.stringify([{ Ref: queueId }]));
  assert.equal(policies.length, 1);
  const allows = policies[0][1].Properties.PolicyDocument.Statement.filter((s: { Effect: string }) => s.Effect === 'Allow');
  for (const s of allows) {
    assert.deepEqual(s.Principal, { Service: 'sns.amazonaws.com' });
    assert.equal(s.Action, 'sqs:SendMessage');
    assert.deepEqual(s.Resource, arnOf(queueId));
    assert.deepEqual(Object.keys(s.Condition), ['ArnEquals']);
  }
  return allows.map((s: { Condition: { ArnEquals: Record<string, unknown> } }) => s.Condition.ArnEquals['aws:SourceArn']);
}

/** The queue's policy denies every request that does not use TLS. */
function assertHttpsOnly(template: Template, queueId: string): void {
  template.hasResourceProperties('AWS::SQS::QueuePolicy', {
    Queues: [{ Ref: queueId }],
    PolicyDocument: Match.objectLike({
      Statement: Match.arrayWith([{
        Action: 'sqs:*',
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Resource: arnOf(queueId),
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      }]),
    }),
  });
}
