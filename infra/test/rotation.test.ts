import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { App } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { RustFunction } from 'cargo-lambda-cdk';
import {
  ROTATION_KMS_ACTIONS, ROTATION_SECRET_ACTIONS, SECRETS_MANAGER_PRINCIPAL, SlackAlarmNotifierStack,
} from '../lib/notifier-stack';
import {
  ConfigError, DEFAULT_ROTATION_HOURS, MAX_ROTATION_HOURS, MIN_ROTATION_HOURS, parseSettings,
} from '../lib/settings';
import {
  ACCOUNT, KEY_ARN, OPERATOR_TOPIC, REGION, SECRET_ARN, TOPIC_A, TOPIC_B, Statement, allIdentityStatements, asArray, bootstrapDir,
  build, logicalId, roleStatements, synth, tempDir,
  acknowledgements,
  assertNagClean,
} from './helpers';

const ROTATION = { appMode: 'true', rotation: 'true' };
const SECRET_NAME = 'slack/bot';
/** The IAM resource (and SourceArn) for secretName: NAME-?????? in the stack's account and region. */
const SECRET_NAME_ARN = {
  'Fn::Join': ['', [
    'arn:', { Ref: 'AWS::Partition' }, ':secretsmanager:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' },
    `:secret:${SECRET_NAME}-??????`,
  ]],
};
const VIA_SECRETS_MANAGER = {
  StringEquals: {
    'kms:ViaService': { 'Fn::Join': ['', ['secretsmanager.', { Ref: 'AWS::Region' }, '.amazonaws.com']] },
  },
};
/** Actions only the rotation function may have. */
const WRITE_ACTIONS = ['secretsmanager:PutSecretValue', 'secretsmanager:UpdateSecretVersionStage'];

type Resource = Record<string, any>;

function createdSecret(template: Template) {
  return { Ref: logicalId(template, 'AWS::SecretsManager::Secret', 'WebhookSecret') };
}

function notifierId(template: Template): string {
  return logicalId(template, 'AWS::Lambda::Function', 'Function');
}

function rotationId(template: Template): string {
  return logicalId(template, 'AWS::Lambda::Function', 'RotationFunction');
}

function resource(template: Template, type: string, id: string): Resource {
  const r = template.findResources(type)[id];
  assert.ok(r, `no ${type} ${id}`);
  return r;
}

function roleOf(template: Template, functionId: string): string {
  return resource(template, 'AWS::Lambda::Function', functionId).Properties.Role['Fn::GetAtt'][0];
}

function theSchedule(template: Template): Resource {
  const schedules = Object.entries(template.findResources('AWS::SecretsManager::RotationSchedule'));
  assert.equal(schedules.length, 1, 'one rotation schedule');
  return schedules[0][1];
}

/** Every invoke permission whose function is the rotation function. */
function rotationPermissions(template: Template): [string, Resource][] {
  const fnArn = { 'Fn::GetAtt': [rotationId(template), 'Arn'] };
  return Object.entries(template.findResources('AWS::Lambda::Permission'))
    .filter(([, r]) => JSON.stringify(r.Properties.FunctionName) === JSON.stringify(fnArn));
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

/** All statements of a role, sorted; it has no managed or inline policies. */
function grantsOf(template: Template, roleId: string): Statement[] {
  const { statements, managedPolicyArns, inlinePolicies } = roleStatements(template, roleId);
  assert.deepEqual(managedPolicyArns, [], `${roleId} has managed policies`);
  assert.deepEqual(inlinePolicies, [], `${roleId} has inline policies`);
  return [...statements].sort(byCanonical);
}

/** The rotation role's statements, exactly: its logs, the secret, and the key if one is given. */
function expectedRotationGrants(template: Template, secret: unknown, key?: string): Statement[] {
  const statements: Statement[] = [
    {
      Sid: 'WriteOwnLogGroup',
      Effect: 'Allow',
      Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      Resource: { 'Fn::GetAtt': [logicalId(template, 'AWS::Logs::LogGroup', 'RotationLogGroup'), 'Arn'] },
    },
    {
      Sid: 'RotateSlackTokenSecret',
      Effect: 'Allow',
      Action: [
        'secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret', 'secretsmanager:PutSecretValue', 'secretsmanager:UpdateSecretVersionStage',
      ],
      Resource: secret,
    },
  ];
  if (key) {
    statements.push({
      Sid: 'UseSlackTokenSecretKey', Effect: 'Allow', Action: ['kms:Decrypt', 'kms:GenerateDataKey'], Resource: key, Condition: VIA_SECRETS_MANAGER,
    });
  }
  return statements.sort(byCanonical);
}



/** The zip assets (function code) in the cloud assembly: one means the binary is shipped once. */
function codeAssets(outdir: string, stackName: string): string[] {
  const manifest = JSON.parse(fs.readFileSync(path.join(outdir, `${stackName}.assets.json`), 'utf8'));
  return Object.entries(manifest.files as Record<string, { source: { packaging: string } }>)
    .filter(([, f]) => f.source.packaging === 'zip')
    .map(([hash]) => hash);
}

describe('rotation settings', () => {
  const get = (ctx: Record<string, unknown>) => (k: string) => ctx[k];

  it('rotation is off by default and takes true/false (also 1/0, yes/no)', () => {
    assert.equal(parseSettings(() => undefined).rotation, false);
    assert.equal(parseSettings(() => undefined).rotationHours, undefined);
    for (const [raw, expected] of [['true', true], ['false', false], [true, true], [false, false], ['1', true], ['no', false], [' YES ', true], ['', false]] as const) {
      assert.equal(parseSettings(get({ appMode: 'true', rotation: raw })).rotation, expected, `rotation=${JSON.stringify(raw)}`);
    }
    assert.throws(() => synth({ appMode: 'true', rotation: 'maybe' }), /Invalid context "rotation": "maybe" is not true or false/);
  });

  it('rotation without appMode is refused, saying why', () => {
    for (const ctx of [{ rotation: 'true' }, { rotation: 'true', appMode: 'false' }, { rotation: 'yes', secretArn: SECRET_ARN }]) {
      assert.throws(() => synth(ctx), (e: Error) => {
        assert.ok(e instanceof ConfigError, `${e}`);
        assert.match(e.message, /^Invalid context "rotation": needs appMode=true/);
        assert.match(e.message, /webhook URL has no refresh token/);
        return true;
      }, JSON.stringify(ctx));
    }
    // rotation=false needs nothing
    assert.equal(parseSettings(get({ rotation: 'false' })).rotation, false);
    // the stack refuses it too when built without the settings parser
    assert.throws(
      () => new SlackAlarmNotifierStack(new App(), 'Direct', { rotation: true, bootstrapDir: bootstrapDir() }),
      (e: Error) => e instanceof ConfigError && /rotation=true needs appMode=true/.test(e.message),
    );
  });

  it(`rotationHours: a whole number from ${MIN_ROTATION_HOURS} to ${MAX_ROTATION_HOURS}`, () => {
    assert.equal(MIN_ROTATION_HOURS, 4);
    assert.equal(MAX_ROTATION_HOURS, 11);
    assert.equal(DEFAULT_ROTATION_HOURS, 4);
    for (const [raw, expected] of [['4', 4], [' 6 ', 6], ['11', 11], [8, 8], ['', undefined]] as const) {
      assert.equal(parseSettings(get({ ...ROTATION, rotationHours: raw })).rotationHours, expected, `rotationHours=${JSON.stringify(raw)}`);
    }
    for (const bad of ['3', '0', '12', '24', '-4', '4.5', '1e1', '0x8', 'four', 3, 12, 5.5, true]) {
      assert.throws(
        () => parseSettings(get({ ...ROTATION, rotationHours: bad })),
        /^SettingsError: Invalid context "rotationHours": .* must be a whole number of hours from 4 to 11: Secrets Manager rotates a secret at most every 4 hours, and a rotating Slack bot token expires 12 hours after it is issued/,
        `rotationHours=${JSON.stringify(bad)}`,
      );
    }
  });

  it('rotationHours without rotation=true warns that it has no effect', () => {
    for (const ctx of [{ rotationHours: '6' }, { appMode: 'true', rotationHours: '6' }, { appMode: 'true', rotation: 'false', rotationHours: '6' }]) {
      const { stack, template } = synth(ctx);
      Annotations.fromStack(stack).hasWarning('*', Match.stringLikeRegexp('rotationHours has no effect without rotation=true'));
      template.resourceCountIs('AWS::SecretsManager::RotationSchedule', 0);
    }
    Annotations.fromStack(synth(ROTATION).stack).hasNoWarning('*', Match.anyValue());
    Annotations.fromStack(synth({ ...ROTATION, rotationHours: '6' }).stack).hasNoWarning('*', Match.anyValue());
    Annotations.fromStack(synth({ appMode: 'true' }).stack).hasNoWarning('*', Match.anyValue());
  });
});

describe('rotation off', () => {
  it('rotation=false gives the same template as no rotation at all; nothing of rotation is there', () => {
    for (const base of [{}, { appMode: 'true' }, { appMode: 'true', secretArn: SECRET_ARN, secretKmsKeyArn: KEY_ARN }]) {
      const without = synth(base).template;
      assert.deepEqual(synth({ ...base, rotation: 'false' }).template.toJSON(), without.toJSON(), JSON.stringify(base));
      without.resourceCountIs('AWS::SecretsManager::RotationSchedule', 0);
      without.resourceCountIs('AWS::Lambda::Function', 1);
      assert.equal(without.findOutputs('RotationFunctionName').RotationFunctionName, undefined);
      for (const s of allIdentityStatements(without)) {
        for (const a of asArray<string>(s.Action)) {
          assert.ok(![...WRITE_ACTIONS, 'secretsmanager:DescribeSecret', 'kms:GenerateDataKey'].includes(a), `unexpected ${a}`);
        }
      }
    }
  });
});

describe('rotation function', () => {
  it('a second function from the same code asset: bootstrap, provided.al2023, 128 MB, 30 s, own role and log group', () => {
    const { template, outdir, stack } = synth({ ...ROTATION, logRetentionDays: '14' });
    template.resourceCountIs('AWS::Lambda::Function', 2);
    const notifier = resource(template, 'AWS::Lambda::Function', notifierId(template)).Properties;
    const rotation = resource(template, 'AWS::Lambda::Function', rotationId(template)).Properties;
    const rotationLogGroup = logicalId(template, 'AWS::Logs::LogGroup', 'RotationLogGroup');
    assert.equal(rotation.Runtime, 'provided.al2023');
    assert.equal(rotation.Handler, 'bootstrap');
    assert.equal(rotation.MemorySize, 128);
    assert.equal(rotation.Timeout, 30);
    assert.deepEqual(rotation.Architectures, ['x86_64']);
    // the notifier's code, byte for byte: same bucket and key, and a single code asset in the assembly
    assert.deepEqual(rotation.Code, notifier.Code);
    assert.deepEqual(codeAssets(outdir, stack.stackName).length, 1);
    assert.deepEqual(rotation.LoggingConfig, { LogFormat: 'JSON', ApplicationLogLevel: 'INFO', LogGroup: { Ref: rotationLogGroup } });
    assert.notDeepEqual(rotation.LoggingConfig.LogGroup, notifier.LoggingConfig.LogGroup);
    assert.notEqual(roleOf(template, rotationId(template)), roleOf(template, notifierId(template)));
    // same retention as the notifier's log group, and retained like it
    for (const id of [rotationLogGroup, logicalId(template, 'AWS::Logs::LogGroup', 'LogGroup')]) {
      const lg = resource(template, 'AWS::Logs::LogGroup', id);
      assert.deepEqual(lg.Properties, { RetentionInDays: 14 });
      assert.equal(lg.DeletionPolicy, 'Retain');
    }
    assert.equal(rotation.DeadLetterConfig, undefined);
    assert.equal(rotation.ReservedConcurrentExecutions, undefined);
  });

  it('architecture follows the notifier', () => {
    const { template } = synth({ ...ROTATION, architecture: 'arm64' });
    assert.deepEqual(resource(template, 'AWS::Lambda::Function', rotationId(template)).Properties.Architectures, ['arm64']);
    assert.deepEqual(resource(template, 'AWS::Lambda::Function', notifierId(template)).Properties.Architectures, ['arm64']);
  });

  it('environment: notifierEnv and SecretId (the same as the notifier\'s), no THREADS_TABLE', () => {
    const cases: [Record<string, unknown>, (t: Template) => unknown][] = [
      [{}, createdSecret],
      [{ secretArn: SECRET_ARN }, () => SECRET_ARN],
      [{ secretName: SECRET_NAME }, () => SECRET_NAME],
    ];
    for (const [ctx, secretId] of cases) {
      const { template } = synth({ ...ROTATION, ...ctx, notifierEnv: '{"RUST_LOG":"debug","MAX_RETRIES":3}' });
      const vars = resource(template, 'AWS::Lambda::Function', rotationId(template)).Properties.Environment.Variables;
      assert.deepEqual(vars, { RUST_LOG: 'debug', MAX_RETRIES: '3', SecretId: secretId(template) }, JSON.stringify(ctx));
      const notifierVars = resource(template, 'AWS::Lambda::Function', notifierId(template)).Properties.Environment.Variables;
      assert.deepEqual(vars.SecretId, notifierVars.SecretId);
    }
  });

  it('invoked synchronously by Secrets Manager only: no subscription, no event source, no async config', () => {
    for (const ctx of [ROTATION, { ...ROTATION, batching: 'true' }]) {
      const { template } = synth(ctx);
      const rotationRef = JSON.stringify({ Ref: rotationId(template) });
      const rotationArn = JSON.stringify({ 'Fn::GetAtt': [rotationId(template), 'Arn'] });
      for (const type of ['AWS::SNS::Subscription', 'AWS::Lambda::EventSourceMapping', 'AWS::Lambda::EventInvokeConfig']) {
        for (const r of Object.values(template.findResources(type))) {
          const text = JSON.stringify(r.Properties);
          assert.ok(!text.includes(rotationRef) && !text.includes(rotationArn), `${type} refers to the rotation function`);
        }
      }
      // the notifier keeps its own async config
      template.resourceCountIs('AWS::Lambda::EventInvokeConfig', 1);
      assert.deepEqual(rotationPermissions(template).map(([, r]) => r.Properties.Principal), [SECRETS_MANAGER_PRINCIPAL]);
    }
  });

  it('built with cargo lambda: the rotation function reuses the RustFunction\'s asset, no second build', () => {
    const crate = tempDir('crate');
    fs.writeFileSync(path.join(crate, 'Cargo.toml'), '[package]\nname = "slack-alarm-notifier"\nversion = "0.1.0"\nedition = "2021"\n');
    const { stack, template, outdir } = synth({
      ...ROTATION,
      manifestPath: path.join(crate, 'Cargo.toml'),
      'aws:cdk:bundling-stacks': [],
    });
    assert.ok(stack.function instanceof RustFunction);
    assert.ok(!(stack.rotationFunction instanceof RustFunction), 'a plain Function: RustFunction would bundle again');
    const notifier = resource(template, 'AWS::Lambda::Function', notifierId(template)).Properties;
    const rotation = resource(template, 'AWS::Lambda::Function', rotationId(template)).Properties;
    assert.ok(notifier.Code.S3Key, 'the notifier has an S3 key');
    assert.deepEqual(rotation.Code, notifier.Code);
    assert.equal(rotation.Handler, 'bootstrap');
    assert.equal(rotation.Runtime, 'provided.al2023');
    assert.equal(codeAssets(outdir, stack.stackName).length, 1);
  });

  it('output: the rotation function\'s name', () => {
    const { template } = synth(ROTATION);
    template.hasOutput('RotationFunctionName', { Value: { Ref: rotationId(template) } });
  });

  it('PutSecretValueCommand shows the rotating secret\'s JSON', () => {
    const { template } = synth(ROTATION);
    const out = template.findOutputs('PutSecretValueCommand').PutSecretValueCommand;
    assert.deepEqual(out.Value, {
      'Fn::Join': ['', [
        'aws secretsmanager put-secret-value --secret-id ',
        createdSecret(template),
        ` --secret-string '{"SLACK_BOT_TOKEN":"xoxe.xoxb-...","SLACK_CHANNEL":"C0123456789","SLACK_REFRESH_TOKEN":"xoxe-1-...","SLACK_CLIENT_ID":"...","SLACK_CLIENT_SECRET":"..."}'`,
      ]],
    });
    assert.match(out.Description, /before the first scheduled rotation/);
    // the placeholder in the secret stays the same, so switching rotation on overwrites nothing
    const secret = (t: Template) => Object.values(t.findResources('AWS::SecretsManager::Secret'))[0].Properties;
    assert.deepEqual(secret(template), secret(synth({ appMode: 'true' }).template));
  });
});

describe('rotation grants', () => {
  const cases: [string, Record<string, unknown>, (t: Template) => unknown, string?][] = [
    ['created secret', {}, createdSecret],
    ['created secret with a key', { secretKmsKeyArn: KEY_ARN }, createdSecret, KEY_ARN],
    ['secretArn', { secretArn: SECRET_ARN }, () => SECRET_ARN],
    ['secretArn with a key', { secretArn: SECRET_ARN, secretKmsKeyArn: KEY_ARN }, () => SECRET_ARN, KEY_ARN],
    ['secretName', { secretName: SECRET_NAME }, () => SECRET_NAME_ARN],
    ['secretName with a key', { secretName: SECRET_NAME, secretKmsKeyArn: KEY_ARN }, () => SECRET_NAME_ARN, KEY_ARN],
  ];
  for (const [name, ctx, secret, key] of cases) {
    it(`${name}: the rotation role may read, write and restage that secret only${key ? ', and use the key via Secrets Manager' : ''}; nothing else`, () => {
      const { template } = synth({ ...ROTATION, ...ctx });
      const rotationRole = roleOf(template, rotationId(template));
      assert.deepEqual(grantsOf(template, rotationRole), expectedRotationGrants(template, secret(template), key));
      if (!key) assert.ok(!JSON.stringify(grantsOf(template, rotationRole)).includes('kms:'));
      // the constants the README and the code share
      assert.deepEqual(ROTATION_SECRET_ACTIONS, expectedRotationGrants(template, 'x').find((s) => s.Sid === 'RotateSlackTokenSecret')!.Action);
      assert.deepEqual(ROTATION_KMS_ACTIONS, ['kms:Decrypt', 'kms:GenerateDataKey']);
    });

    it(`${name}: the notifier's role is exactly as without rotation, with no write action`, () => {
      const without = synth({ appMode: 'true', ...ctx }).template;
      const { template } = synth({ ...ROTATION, ...ctx });
      const notifierGrants = grantsOf(template, roleOf(template, notifierId(template)));
      assert.deepEqual(notifierGrants, grantsOf(without, roleOf(without, notifierId(without))));
      for (const s of notifierGrants) {
        for (const a of asArray<string>(s.Action)) {
          assert.ok(![...WRITE_ACTIONS, 'secretsmanager:DescribeSecret'].includes(a), `notifier role has ${a}`);
        }
      }
      // write actions exist in the rotation role's policy and nowhere else
      const writers = allIdentityStatements(template).filter((s) => asArray<string>(s.Action).some((a) => WRITE_ACTIONS.includes(a)));
      assert.deepEqual(writers.map((s) => s.Sid), ['RotateSlackTokenSecret']);
      // two roles in all, no GetRandomPassword, and "*" only in the metric graph policy
      assert.equal(Object.keys(template.findResources('AWS::IAM::Role')).length, 2);
      for (const s of allIdentityStatements(template)) {
        assert.ok(!asArray<string>(s.Action).includes('secretsmanager:GetRandomPassword'));
        if (asArray(s.Resource).includes('*')) assert.equal(s.Sid, 'RenderMetricGraphs');
      }
    });
  }

  it('the exact-grants check fails on a broader grant (it is not vacuous)', () => {
    const { stack } = build({ ...ROTATION, secretArn: SECRET_ARN }, {}, false);
    stack.rotationFunctionRole!.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['secretsmanager:GetRandomPassword'], resources: ['*'],
    }));
    const t = Template.fromStack(stack);
    assert.throws(
      () => assert.deepEqual(grantsOf(t, roleOf(t, rotationId(t))), expectedRotationGrants(t, SECRET_ARN)),
      assert.AssertionError,
    );
  });
});

describe('rotation invoke permission', () => {
  const cases: [string, Record<string, unknown>, (t: Template) => unknown, unknown][] = [
    ['created secret', {}, createdSecret, { Ref: 'AWS::AccountId' }],
    ['secretArn', { secretArn: SECRET_ARN }, () => SECRET_ARN, ACCOUNT],
    ['secretArn of another account', { secretArn: `arn:aws:secretsmanager:${REGION}:210987654321:secret:slack/bot-XyZ987` },
      () => `arn:aws:secretsmanager:${REGION}:210987654321:secret:slack/bot-XyZ987`, '210987654321'],
    // Lambda compares SourceArn with StringLike: the pattern names the one secret, as in the IAM statements
    ['secretName', { secretName: SECRET_NAME }, () => SECRET_NAME_ARN, { Ref: 'AWS::AccountId' }],
  ];
  for (const [name, ctx, sourceArn, sourceAccount] of cases) {
    it(`${name}: secretsmanager.amazonaws.com may invoke it, for that secret and account only`, () => {
      const { template } = synth({ ...ROTATION, ...ctx });
      const perms = rotationPermissions(template);
      assert.equal(perms.length, 1);
      assert.deepEqual(perms[0][1].Properties, {
        Action: 'lambda:InvokeFunction',
        FunctionName: { 'Fn::GetAtt': [rotationId(template), 'Arn'] },
        Principal: 'secretsmanager.amazonaws.com',
        SourceArn: sourceArn(template),
        SourceAccount: sourceAccount,
      });
      // no Secrets Manager permission on the notifier
      for (const r of Object.values(template.findResources('AWS::Lambda::Permission'))) {
        if (r.Properties.Principal === SECRETS_MANAGER_PRINCIPAL) {
          assert.deepEqual(r.Properties.FunctionName, { 'Fn::GetAtt': [rotationId(template), 'Arn'] });
        }
      }
    });
  }
});

describe('rotation schedule', () => {
  const cases: [string, Record<string, unknown>, (t: Template) => unknown][] = [
    ['created secret', {}, createdSecret],
    ['secretArn', { secretArn: SECRET_ARN }, () => SECRET_ARN],
    ['secretName', { secretName: SECRET_NAME }, () => SECRET_NAME],
  ];
  for (const [name, ctx, secretId] of cases) {
    it(`${name}: every 4 hours by default, with the rotation function, no rotation at deploy time`, () => {
      const { template } = synth({ ...ROTATION, ...ctx });
      const schedule = theSchedule(template);
      assert.deepEqual(schedule.Properties, {
        SecretId: secretId(template),
        RotationLambdaARN: { 'Fn::GetAtt': [rotationId(template), 'Arn'] },
        RotationRules: { ScheduleExpression: 'rate(4 hours)' },
        RotateImmediatelyOnUpdate: false,
      });
      // created after the invoke permission, which Secrets Manager needs to check the setup
      const permissionId = logicalId(template, 'AWS::Lambda::Permission', 'RotationFunction/InvokeBySecretsManager');
      assert.ok(asArray(schedule.DependsOn).includes(permissionId), `DependsOn ${JSON.stringify(schedule.DependsOn)}`);
      // the L1 resource: no resource policy on the secret, no hosted rotation
      template.resourceCountIs('AWS::SecretsManager::ResourcePolicy', 0);
    });
  }

  it('rotationHours sets the rate: 6 → rate(6 hours), 11 → rate(11 hours), a number from cdk.json too', () => {
    for (const [hours, expected] of [['6', 'rate(6 hours)'], ['11', 'rate(11 hours)'], [5, 'rate(5 hours)'], ['4', 'rate(4 hours)']] as const) {
      const { template } = synth({ ...ROTATION, secretArn: SECRET_ARN, rotationHours: hours });
      assert.deepEqual(theSchedule(template).Properties.RotationRules, { ScheduleExpression: expected }, `rotationHours=${hours}`);
    }
  });
});

describe('rotation alarm', () => {
  function rotationAlarm(template: Template) {
    const dims = [{ Name: 'FunctionName', Value: { Ref: rotationId(template) } }];
    const found = Object.values(template.findResources('AWS::CloudWatch::Alarm'))
      .map((r) => r.Properties)
      .filter((a) => JSON.stringify(a.Dimensions) === JSON.stringify(dims));
    assert.equal(found.length, 1, 'one alarm on the rotation function');
    return found[0];
  }

  for (const [name, ctx, topic] of [
    ['created operator topic', {}, (t: Template) => ({ Ref: logicalId(t, 'AWS::SNS::Topic', 'OperatorTopic') })],
    ['operatorTopicArn', { topicArns: `${TOPIC_A},${TOPIC_B}`, operatorTopicArn: OPERATOR_TOPIC }, () => OPERATOR_TOPIC],
  ] as const) {
    it(`${name}: Errors ≥ 1 in 5 minutes, missing data not breaching, to the operator topic`, () => {
      const { template } = synth({ ...ROTATION, ...ctx });
      const alarm = rotationAlarm(template);
      const { AlarmDescription: description, ...rest } = alarm;
      assert.deepEqual(rest, {
        Namespace: 'AWS/Lambda',
        MetricName: 'Errors',
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: rotationId(template) } }],
        Statistic: 'Sum',
        Period: 300,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        EvaluationPeriods: 1,
        TreatMissingData: 'notBreaching',
        AlarmActions: [topic(template)],
        OKActions: [topic(template)],
      });
      assert.match(description, /rotation function .* failed: the Slack bot token was not renewed/);
      // never to an alarm topic the notifier reads
      assert.ok(!JSON.stringify(alarm).includes(TOPIC_A) && !JSON.stringify(alarm).includes(TOPIC_B));
      // the notifier's two alarms stay, on the notifier
      template.resourceCountIs('AWS::CloudWatch::Alarm', 3);
    });
  }
});

describe('rotation and cdk-nag AwsSolutions', () => {
  const configs: Record<string, Record<string, unknown>> = {
    'created secret': ROTATION,
    secretArn: { ...ROTATION, secretArn: SECRET_ARN },
    secretName: { ...ROTATION, secretName: SECRET_NAME },
    'created secret with a KMS key': { ...ROTATION, secretKmsKeyArn: KEY_ARN },
    'secretName with a KMS key, arm64, batching, existing topics': {
      ...ROTATION, secretName: SECRET_NAME, secretKmsKeyArn: KEY_ARN, architecture: 'arm64', batching: 'true',
      topicArns: `${TOPIC_A},${TOPIC_B}`, operatorTopicArn: OPERATOR_TOPIC, rotationHours: '6',
    },
  };
  for (const [name, context] of Object.entries(configs)) {
    it(`${name}: no unacknowledged errors or warnings`, () => assertNagClean(context));
  }

  it('the SMG4 acknowledgement is gone with rotation, and stays without it', () => {
    const ids = (ctx: Record<string, unknown>) =>
      acknowledgements(build(ctx).app).map(({ path: p, id }) => ({ path: p, id })).sort(byCanonical);
    assert.deepEqual(ids(ROTATION), [
      { path: 'FailureQueue', id: 'AwsSolutions-SQS3' },
      { path: 'MetricGraphPolicy', id: 'AwsSolutions-IAM5[Resource::*]' },
    ].sort(byCanonical));
    assert.deepEqual(ids({ appMode: 'true' }), [
      { path: 'FailureQueue', id: 'AwsSolutions-SQS3' },
      { path: 'MetricGraphPolicy', id: 'AwsSolutions-IAM5[Resource::*]' },
      { path: 'WebhookSecret', id: 'AwsSolutions-SMG4' },
    ].sort(byCanonical));
    assert.ok(ids({}).some((a) => a.id === 'AwsSolutions-SMG4'));
    assert.ok(!ids({ ...ROTATION, secretKmsKeyArn: KEY_ARN }).some((a) => a.id === 'AwsSolutions-SMG4'));
  });

  it('it is the schedule that satisfies SMG4: without it the secret is reported', () => {
    const { app, stack } = build(ROTATION);
    assert.ok(stack.node.tryRemoveChild('RotationSchedule'));
    const direct = new AwsSolutionsChecks().validateScope(app);
    assert.deepEqual(direct.violations.map((v) => v.ruleName), ['AwsSolutions-SMG4']);
    assert.deepEqual(direct.violations[0].violatingResources.map((r) => r.constructPath), [`${stack.stackName}/WebhookSecret/Resource`]);
  });
});
