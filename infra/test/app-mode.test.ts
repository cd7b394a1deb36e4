import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { METRIC_WIDGET_IMAGE_REASON } from '../lib/notifier-stack';
import { parseSettings } from '../lib/settings';
import {
  OPERATOR_TOPIC, SECRET_ARN, TOPIC_A, TOPIC_B, Statement, allIdentityStatements, asArray, build, logicalId, roleStatements, synth,
  acknowledgements,
  assertNagClean,
} from './helpers';

const APP_MODE = { appMode: 'true' };
const EXISTING = { secretArn: SECRET_ARN, topicArns: `${TOPIC_A},${TOPIC_B}`, operatorTopicArn: OPERATOR_TOPIC };

type Resources = Record<string, Record<string, any>>;

function resourcesOf(template: Template): Resources {
  return template.toJSON().Resources;
}

function tableId(template: Template): string {
  return logicalId(template, 'AWS::DynamoDB::Table', 'ThreadsTable');
}

function theFunction(template: Template): Record<string, any> {
  const fns = Object.values(template.findResources('AWS::Lambda::Function'));
  assert.equal(fns.length, 1);
  return fns[0];
}

function functionRoleId(template: Template): string {
  return theFunction(template).Properties.Role['Fn::GetAtt'][0];
}

/** JSON with object keys sorted, so statements can be ordered independently of key order. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}
const byCanonical = (a: unknown, b: unknown) => canonical(a).localeCompare(canonical(b));

/** The function role's statements, sorted so that two templates compare regardless of order. */
function roleGrants(template: Template): Statement[] {
  const { statements, managedPolicyArns, inlinePolicies } = roleStatements(template, functionRoleId(template));
  assert.deepEqual(managedPolicyArns, []);
  assert.deepEqual(inlinePolicies, []);
  return [...statements].sort(byCanonical);
}

/** The two statements app mode adds to the role, and nothing else. */
function appModeStatements(template: Template): Statement[] {
  return [
    {
      Sid: 'ReadWriteSlackThreads',
      Effect: 'Allow',
      Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
      Resource: { 'Fn::GetAtt': [tableId(template), 'Arn'] },
    },
    { Sid: 'RenderMetricGraphs', Effect: 'Allow', Action: 'cloudwatch:GetMetricWidgetImage', Resource: '*' },
  ];
}



describe('appMode setting', () => {
  it('is off by default, and takes true/false (also 1/0, yes/no)', () => {
    assert.equal(parseSettings(() => undefined).appMode, false);
    for (const [raw, expected] of [['true', true], ['false', false], [true, true], [false, false], ['1', true], ['no', false], [' YES ', true], ['', false]] as const) {
      assert.equal(parseSettings((k) => (k === 'appMode' ? raw : undefined)).appMode, expected, `appMode=${JSON.stringify(raw)}`);
    }
  });

  it('an invalid value is refused with an error naming the key', () => {
    assert.throws(() => synth({ appMode: 'maybe' }), /Invalid context "appMode": "maybe" is not true or false/);
    for (const bad of ['on', 'enabled', 2, 'truee']) {
      assert.throws(() => synth({ appMode: bad }), /Invalid context "appMode"/, `appMode=${JSON.stringify(bad)}`);
    }
  });

  it('with appMode, notifierEnv may not set THREADS_TABLE (the stack sets it); without, it still may', () => {
    assert.throws(
      () => parseSettings((k) => ({ appMode: 'true', notifierEnv: '{"THREADS_TABLE":"other"}' } as Record<string, unknown>)[k]),
      /Invalid context "notifierEnv": THREADS_TABLE is set by the stack with appMode=true/,
    );
    const off = parseSettings((k) => ({ notifierEnv: '{"THREADS_TABLE":"other"}' } as Record<string, unknown>)[k]);
    assert.deepEqual(off.notifierEnv, { THREADS_TABLE: 'other' });
  });
});

describe('appMode off (the default)', () => {
  for (const [name, context] of Object.entries({
    defaults: {},
    'appMode=false': { appMode: 'false' },
    batching: { batching: 'true' },
  })) {
    it(`${name}: no table, no THREADS_TABLE, no DynamoDB or CloudWatch grant, no "*" resource`, () => {
      const { template } = synth(context);
      template.resourceCountIs('AWS::DynamoDB::Table', 0);
      template.resourceCountIs('AWS::DynamoDB::GlobalTable', 0);
      assert.equal(theFunction(template).Properties.Environment.Variables.THREADS_TABLE, undefined);
      for (const s of allIdentityStatements(template)) {
        for (const a of asArray<string>(s.Action)) assert.ok(!/^(dynamodb|cloudwatch):/.test(a), `unexpected ${a}`);
        for (const r of asArray(s.Resource)) assert.notEqual(r, '*');
      }
    });
  }

  it('appMode=false synthesizes exactly the same template as no appMode at all', () => {
    assert.deepEqual(synth({ appMode: 'false' }).template.toJSON(), synth().template.toJSON());
    assert.deepEqual(
      synth({ ...EXISTING, batching: 'true', appMode: 'false' }).template.toJSON(),
      synth({ ...EXISTING, batching: 'true' }).template.toJSON(),
    );
  });
});

describe('appMode=true', () => {
  it('threads table: key pk (string), on-demand, TTL on expires_at, point-in-time recovery, AWS-owned key, retained', () => {
    const { template } = synth(APP_MODE);
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    const table = template.findResources('AWS::DynamoDB::Table')[tableId(template)];
    assert.deepEqual(table.Properties, {
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
      TimeToLiveSpecification: { AttributeName: 'expires_at', Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      // SSEEnabled false is DynamoDB's AWS-owned key (true would be the aws/dynamodb KMS key)
      SSESpecification: { SSEEnabled: false },
    });
    // no fixed TableName (a retained table would block a redeployment), no index, no stream, no provisioned throughput
    assert.equal(table.DeletionPolicy, 'Retain');
    assert.equal(table.UpdateReplacePolicy, 'Retain');
  });

  it('the function gets THREADS_TABLE = the table name, keeps SecretId and extra env, and no METRIC_GRAPHS', () => {
    const { template } = synth({ ...APP_MODE, notifierEnv: '{"RUST_LOG":"debug"}' });
    const vars: Record<string, unknown> = theFunction(template).Properties.Environment.Variables;
    assert.ok(!('METRIC_GRAPHS' in vars), 'METRIC_GRAPHS is left to the function');
    assert.deepEqual(vars, {
      RUST_LOG: 'debug',
      SecretId: { Ref: logicalId(template, 'AWS::SecretsManager::Secret', 'WebhookSecret') },
      THREADS_TABLE: { Ref: tableId(template) },
    });
  });

  it('role: exactly the default grants plus GetItem/PutItem/UpdateItem on the table ARN and GetMetricWidgetImage', () => {
    for (const base of [{}, EXISTING, { batching: 'true' }, { ...EXISTING, batching: 'true' }]) {
      const without = synth(base).template;
      const { template } = synth({ ...base, ...APP_MODE });
      const expected = [...roleGrants(without), ...appModeStatements(template)].sort(byCanonical);
      assert.deepEqual(roleGrants(template), expected, `with ${JSON.stringify(base)}`);
    }
  });

  it('the DynamoDB grant names the table only: no index, stream or wildcard, no other DynamoDB action anywhere', () => {
    const { template } = synth(APP_MODE);
    const dynamo = allIdentityStatements(template).filter((s) => asArray<string>(s.Action).some((a) => a.startsWith('dynamodb:')));
    assert.equal(dynamo.length, 1);
    assert.deepEqual(dynamo[0].Action, ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']);
    assert.deepEqual(dynamo[0].Resource, { 'Fn::GetAtt': [tableId(template), 'Arn'] });
    assert.equal(dynamo[0].Condition, undefined);
    assert.ok(!JSON.stringify(dynamo[0]).includes('/index/'));
  });

  it('GetMetricWidgetImage is the only "*" resource, alone in a policy of its own that the function waits for', () => {
    const { template } = synth(APP_MODE);
    const policyId = logicalId(template, 'AWS::IAM::Policy', 'MetricGraphPolicy');
    const policy = template.findResources('AWS::IAM::Policy')[policyId];
    assert.deepEqual(policy.Properties.PolicyDocument.Statement, [
      { Sid: 'RenderMetricGraphs', Effect: 'Allow', Action: 'cloudwatch:GetMetricWidgetImage', Resource: '*' },
    ]);
    assert.deepEqual(policy.Properties.Roles, [{ Ref: functionRoleId(template) }]);
    const starred = allIdentityStatements(template).filter((s) => asArray(s.Resource).includes('*'));
    assert.deepEqual(starred, [{ Sid: 'RenderMetricGraphs', Effect: 'Allow', Action: 'cloudwatch:GetMetricWidgetImage', Resource: '*' }]);
    for (const s of allIdentityStatements(template)) {
      for (const a of asArray<string>(s.Action)) assert.ok(!a.includes('*'), `wildcard action in ${JSON.stringify(s)}`);
    }
    assert.ok(theFunction(template).DependsOn.includes(policyId));
  });

  it('adds the table and the metric graph policy, and changes only the function, its role policy and the secret command output', () => {
    const before = resourcesOf(synth().template);
    const { template } = synth(APP_MODE);
    const after = resourcesOf(template);
    const added = Object.keys(after).filter((id) => !(id in before)).sort();
    assert.deepEqual(added, [logicalId(template, 'AWS::IAM::Policy', 'MetricGraphPolicy'), tableId(template)].sort());
    assert.deepEqual(Object.keys(before).filter((id) => !(id in after)), []);
    const changed = Object.keys(before).filter((id) => JSON.stringify(before[id]) !== JSON.stringify(after[id])).sort();
    assert.deepEqual(changed, [
      logicalId(template, 'AWS::IAM::Policy', 'FunctionRole/DefaultPolicy'),
      logicalId(template, 'AWS::Lambda::Function', 'Function'),
    ].sort());
    // the secret keeps its placeholder, so switching appMode on does not overwrite a stored value;
    // of the outputs, only the put-secret-value command changes
    const outputsBefore = synth().template.toJSON().Outputs;
    const outputs = template.toJSON().Outputs;
    assert.deepEqual(Object.keys(outputs).sort(), Object.keys(outputsBefore).sort());
    assert.deepEqual(
      Object.keys(outputs).filter((k) => JSON.stringify(outputs[k]) !== JSON.stringify(outputsBefore[k])),
      ['PutSecretValueCommand'],
    );
    assert.match(JSON.stringify(outputs.PutSecretValueCommand), /SLACK_BOT_TOKEN.*SLACK_CHANNEL/);
    assert.doesNotMatch(JSON.stringify(outputs.PutSecretValueCommand), /SLACK_HOOK_URL/);
  });

  it('combines with batching=true: the queue feeds the function, the table and grants are there', () => {
    const { template } = synth({ ...APP_MODE, batching: 'true' });
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
    template.resourceCountIs('AWS::SNS::Subscription', 1);
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'sqs' });
    assert.deepEqual(theFunction(template).Properties.Environment.Variables.THREADS_TABLE, { Ref: tableId(template) });
  });
});

describe('appMode=true and cdk-nag AwsSolutions', () => {
  const configs: Record<string, Record<string, unknown>> = {
    appMode: APP_MODE,
    'appMode with batching': { ...APP_MODE, batching: 'true', exampleAlarm: 'true', operatorEmail: 'ops@example.com' },
    'appMode with batching and existing secret and topics': { ...APP_MODE, ...EXISTING, batching: 'true', batchingWindowSeconds: '0' },
  };
  for (const [name, context] of Object.entries(configs)) {
    it(`${name}: no unacknowledged errors or warnings`, () => assertNagClean(context));
  }

  it('one new acknowledgement: IAM5 for Resource::* on the metric graph policy, with the reason', () => {
    const ack = { path: 'MetricGraphPolicy', id: 'AwsSolutions-IAM5[Resource::*]', reason: METRIC_WIDGET_IMAGE_REASON };
    for (const base of [{}, { batching: 'true' }, { ...EXISTING, batching: 'true' }]) {
      const without = acknowledgements(build(base).app);
      const withAppMode = acknowledgements(build({ ...base, ...APP_MODE }).app);
      assert.deepEqual(withAppMode.sort(byCanonical), [...without, ack].sort(byCanonical), `with ${JSON.stringify(base)}`);
    }
    assert.match(METRIC_WIDGET_IMAGE_REASON, /^cloudwatch:GetMetricWidgetImage supports no resource-level permissions/);
  });

  it('the acknowledgement covers that policy only: a "*" elsewhere on the role is still a finding', () => {
    const { app, stack } = build(APP_MODE);
    stack.functionRole.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['cloudwatch:GetMetricData'], resources: ['*'] }));
    const direct = new AwsSolutionsChecks().validateScope(app);
    assert.deepEqual(direct.violations.map((v) => v.ruleName), ['AwsSolutions-IAM5[Resource::*]']);
    assert.deepEqual(direct.violations[0].violatingResources.map((r) => r.constructPath), [`${stack.stackName}/FunctionRole/DefaultPolicy/Resource`]);
  });
});
