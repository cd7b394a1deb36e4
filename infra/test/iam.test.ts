import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import {
  ACCOUNT, KEY_ARN, REGION, SECRET_ARN, allIdentityStatements, asArray, build, logicalId, roleStatements, synth,
} from './helpers';

const VIA_SECRETS_MANAGER = {
  StringEquals: {
    'kms:ViaService': { 'Fn::Join': ['', ['secretsmanager.', { Ref: 'AWS::Region' }, '.amazonaws.com']] },
  },
};

/** The statements every configuration has besides the secret (and key) grant. */
function baseStatements(template: Template) {
  return [
    {
      Sid: 'WriteOwnLogGroup',
      Effect: 'Allow',
      Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      Resource: { 'Fn::GetAtt': [logicalId(template, 'AWS::Logs::LogGroup', 'LogGroup'), 'Arn'] },
    },
    {
      Effect: 'Allow',
      Action: ['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'],
      Resource: { 'Fn::GetAtt': [logicalId(template, 'AWS::SQS::Queue', 'FailureQueue'), 'Arn'] },
    },
  ];
}

function functionRoleId(template: Template): string {
  const fn = Object.values(template.findResources('AWS::Lambda::Function'))[0];
  return fn.Properties.Role['Fn::GetAtt'][0];
}

/** JSON with object keys sorted, so statements can be ordered independently of key order. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}
const sortBySid = (a: unknown, b: unknown) => canonical(a).localeCompare(canonical(b));

/** Exactly these statements, nothing else, reach the function role. */
function assertRoleGrantsExactly(template: Template, expected: object[]): void {
  const { statements, managedPolicyArns, inlinePolicies } = roleStatements(template, functionRoleId(template));
  assert.deepEqual(managedPolicyArns, [], 'the function role must not have managed policies');
  assert.deepEqual(inlinePolicies, [], 'the function role must not have inline policies');
  assert.deepEqual([...statements].sort(sortBySid), [...expected].sort(sortBySid));
}

/** No identity policy in the template has a "*" resource or a wildcard action. */
function assertNoWildcards(template: Template): void {
  for (const s of allIdentityStatements(template)) {
    for (const r of asArray(s.Resource)) assert.notEqual(r, '*', `"*" resource in ${JSON.stringify(s)}`);
    for (const a of asArray<string>(s.Action)) assert.ok(!a.includes('*'), `wildcard action in ${JSON.stringify(s)}`);
    assert.equal(s.NotAction, undefined);
    assert.equal(s.NotResource, undefined);
  }
}

describe('function role', () => {
  it('created secret: GetSecretValue on that secret only, no KMS, no wildcards', () => {
    const { template } = synth();
    const secretId = logicalId(template, 'AWS::SecretsManager::Secret', 'WebhookSecret');
    assertRoleGrantsExactly(template, [
      ...baseStatements(template),
      { Sid: 'ReadSlackWebhookSecret', Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: { Ref: secretId } },
    ]);
    assertNoWildcards(template);
    // the function role is the only role: nothing else (custom resources, log retention) brings its own
    assert.deepEqual(Object.keys(template.findResources('AWS::IAM::Role')), [functionRoleId(template)]);
    const all = JSON.stringify(allIdentityStatements(template));
    assert.ok(!all.includes('kms:'), 'no kms statement without secretKmsKeyArn');
    assert.ok(!all.includes('secretsmanager:DescribeSecret'));
  });

  it('existing secret by ARN: exactly that ARN', () => {
    const { template } = synth({ secretArn: SECRET_ARN });
    template.resourceCountIs('AWS::SecretsManager::Secret', 0);
    assertRoleGrantsExactly(template, [
      ...baseStatements(template),
      { Sid: 'ReadSlackWebhookSecret', Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: SECRET_ARN },
    ]);
    assertNoWildcards(template);
  });

  it('existing secret by name: NAME-?????? in the stack account and region', () => {
    const { template } = synth({ secretName: 'slack/webhook' });
    assertRoleGrantsExactly(template, [
      ...baseStatements(template),
      {
        Sid: 'ReadSlackWebhookSecret',
        Effect: 'Allow',
        Action: 'secretsmanager:GetSecretValue',
        Resource: {
          'Fn::Join': ['', [
            'arn:', { Ref: 'AWS::Partition' }, ':secretsmanager:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' },
            ':secret:slack/webhook-??????',
          ]],
        },
      },
    ]);
    assertNoWildcards(template);
  });

  it('customer-managed key: kms:Decrypt on that key via Secrets Manager only', () => {
    const { template } = synth({ secretArn: SECRET_ARN, secretKmsKeyArn: KEY_ARN });
    assertRoleGrantsExactly(template, [
      ...baseStatements(template),
      { Sid: 'ReadSlackWebhookSecret', Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: SECRET_ARN },
      { Sid: 'DecryptSlackWebhookSecret', Effect: 'Allow', Action: 'kms:Decrypt', Resource: KEY_ARN, Condition: VIA_SECRETS_MANAGER },
    ]);
    assertNoWildcards(template);
  });

  it('created secret with a customer-managed key: the secret uses the key, the role gets the same two grants', () => {
    const { template } = synth({ secretKmsKeyArn: KEY_ARN });
    const secretId = logicalId(template, 'AWS::SecretsManager::Secret', 'WebhookSecret');
    template.hasResourceProperties('AWS::SecretsManager::Secret', { KmsKeyId: KEY_ARN });
    assertRoleGrantsExactly(template, [
      ...baseStatements(template),
      { Sid: 'ReadSlackWebhookSecret', Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: { Ref: secretId } },
      { Sid: 'DecryptSlackWebhookSecret', Effect: 'Allow', Action: 'kms:Decrypt', Resource: KEY_ARN, Condition: VIA_SECRETS_MANAGER },
    ]);
    assertNoWildcards(template);
  });

  it('batching: the role may also consume the alarm queue, and nothing else', () => {
    const { template } = synth({ secretArn: SECRET_ARN, batching: 'true' });
    assertRoleGrantsExactly(template, [
      ...baseStatements(template),
      { Sid: 'ReadSlackWebhookSecret', Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: SECRET_ARN },
      {
        Effect: 'Allow',
        Action: ['sqs:ReceiveMessage', 'sqs:ChangeMessageVisibility', 'sqs:GetQueueUrl', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'],
        Resource: { 'Fn::GetAtt': [logicalId(template, 'AWS::SQS::Queue', 'AlarmQueue'), 'Arn'] },
      },
    ]);
    assertNoWildcards(template);
  });

  it('rejects a partial secret ARN, both secretArn and secretName, and a key alias', () => {
    assert.throws(() => synth({ secretArn: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:slack/webhook` }), /complete secret ARN/);
    assert.throws(() => synth({ secretArn: SECRET_ARN, secretName: 'x' }), /not both/);
    assert.throws(() => synth({ secretKmsKeyArn: `arn:aws:kms:${REGION}:${ACCOUNT}:alias/slack` }), /key ARN/);
  });

  it('the checks above catch a broader grant and a "*" resource', () => {
    // Guards against vacuous checks. cdk-nag is off here: it would reject the "*" first.
    const { stack } = build({ secretArn: SECRET_ARN }, {}, false);
    stack.functionRole.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['secretsmanager:DescribeSecret'], resources: [SECRET_ARN],
    }));
    stack.functionRole.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['xray:PutTraceSegments'], resources: ['*'] }));
    const t = Template.fromStack(stack);
    assert.throws(() => assertRoleGrantsExactly(t, [
      ...baseStatements(t),
      { Sid: 'ReadSlackWebhookSecret', Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: SECRET_ARN },
    ]), assert.AssertionError);
    assert.throws(() => assertNoWildcards(t), /"\*" resource/);
  });
});
