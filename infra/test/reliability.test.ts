import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Template } from 'aws-cdk-lib/assertions';
import { OPERATOR_TOPIC, TOPIC_A, TOPIC_B, logicalId, synth } from './helpers';

function alarms(template: Template) {
  return Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((r) => r.Properties);
}

function alarmOn(template: Template, metricName: string) {
  const found = alarms(template).filter((a) => a.MetricName === metricName);
  assert.equal(found.length, 1, `one alarm on ${metricName}`);
  return found[0];
}

describe('nothing lost', () => {
  it('async invocation: 2 retries, 6 hours, failures to the failure queue', () => {
    const { template } = synth();
    template.resourceCountIs('AWS::Lambda::EventInvokeConfig', 1);
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: logicalId(template, 'AWS::Lambda::Function', 'Function') },
      Qualifier: '$LATEST',
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 6 * 3600,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [logicalId(template, 'AWS::SQS::Queue', 'FailureQueue'), 'Arn'] } } },
    });
  });

  it('failure queue: SSE-KMS, 14 days, HTTPS only', () => {
    const { template } = synth();
    const queueId = logicalId(template, 'AWS::SQS::Queue', 'FailureQueue');
    template.resourceCountIs('AWS::SQS::Queue', 1);
    template.hasResourceProperties('AWS::SQS::Queue', { KmsMasterKeyId: 'alias/aws/sqs', MessageRetentionPeriod: 14 * 24 * 3600 });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: queueId }],
      PolicyDocument: {
        Statement: [{
          Action: 'sqs:*',
          Effect: 'Deny',
          Principal: { AWS: '*' },
          Resource: { 'Fn::GetAtt': [queueId, 'Arn'] },
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        }],
        Version: '2012-10-17',
      },
    });
  });

  it('Errors and queue-depth alarms go to the created operator topic, not the alarm topic', () => {
    const { template } = synth();
    const operator = { Ref: logicalId(template, 'AWS::SNS::Topic', 'OperatorTopic') };
    const alarmTopic = { Ref: logicalId(template, 'AWS::SNS::Topic', 'AlarmTopic') };
    assert.notDeepEqual(operator, alarmTopic);
    const errors = alarmOn(template, 'Errors');
    assert.equal(errors.Namespace, 'AWS/Lambda');
    assert.deepEqual(errors.Dimensions, [{ Name: 'FunctionName', Value: { Ref: logicalId(template, 'AWS::Lambda::Function', 'Function') } }]);
    assert.equal(errors.Statistic, 'Sum');
    assert.equal(errors.Period, 300);
    const depth = alarmOn(template, 'ApproximateNumberOfMessagesVisible');
    assert.equal(depth.Namespace, 'AWS/SQS');
    assert.deepEqual(depth.Dimensions, [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(template, 'AWS::SQS::Queue', 'FailureQueue'), 'QueueName'] } }]);
    for (const a of [errors, depth]) {
      assert.equal(a.Threshold, 1);
      assert.equal(a.ComparisonOperator, 'GreaterThanOrEqualToThreshold');
      assert.equal(a.EvaluationPeriods, 1);
      assert.deepEqual(a.AlarmActions, [operator]);
      assert.deepEqual(a.OKActions, [operator]);
    }
    assert.equal(alarms(template).length, 2, 'no example alarm unless asked');
  });

  it('with existing topics, the operator alarms go to operatorTopicArn and never to a subscribed topic', () => {
    const { template } = synth({ topicArns: `${TOPIC_A},${TOPIC_B}`, operatorTopicArn: OPERATOR_TOPIC });
    template.resourceCountIs('AWS::SNS::Topic', 0);
    template.resourceCountIs('AWS::KMS::Key', 0);
    for (const metric of ['Errors', 'ApproximateNumberOfMessagesVisible']) {
      const a = alarmOn(template, metric);
      assert.deepEqual(a.AlarmActions, [OPERATOR_TOPIC]);
      assert.deepEqual(a.OKActions, [OPERATOR_TOPIC]);
    }
    const subscribed = Object.values(template.findResources('AWS::SNS::Subscription')).map((r) => r.Properties.TopicArn);
    assert.ok(!subscribed.includes(OPERATOR_TOPIC));
  });

  it('example alarm: fixed name, ALARM and OK actions to the alarm topic, exact command in the outputs', () => {
    const { template } = synth({ exampleAlarm: 'true', topicArns: `${TOPIC_A},${TOPIC_B}` });
    const example = alarms(template).find((a) => a.AlarmName === 'SlackAlarmNotifier-example');
    assert.ok(example, 'example alarm exists');
    assert.equal(example.MetricName, 'Throttles');
    assert.deepEqual(example.AlarmActions, [TOPIC_A]);
    assert.deepEqual(example.OKActions, [TOPIC_A]);
    template.hasOutput('ExampleAlarmName', { Value: 'SlackAlarmNotifier-example' });
    template.hasOutput('TryItCommand', {
      Value: 'aws cloudwatch set-alarm-state --alarm-name SlackAlarmNotifier-example --state-value ALARM --state-reason "Testing slack-alarm-notifier"',
    });
    const created = synth({ exampleAlarm: 'true', stackName: 'NotifierStaging' }).template;
    const createdExample = alarms(created).find((a) => a.AlarmName === 'NotifierStaging-example');
    assert.ok(createdExample);
    assert.deepEqual(createdExample.AlarmActions, [{ Ref: logicalId(created, 'AWS::SNS::Topic', 'AlarmTopic') }]);
  });

  it('created secret: the put-secret-value command is an output', () => {
    const { template } = synth();
    template.hasOutput('PutSecretValueCommand', {
      Value: {
        'Fn::Join': ['', [
          'aws secretsmanager put-secret-value --secret-id ',
          { Ref: logicalId(template, 'AWS::SecretsManager::Secret', 'WebhookSecret') },
          ` --secret-string '{"SLACK_HOOK_URL":"https://hooks.slack.com/services/...","SLACK_CHANNEL":"#alerts"}'`,
        ]],
      },
    });
  });
});
