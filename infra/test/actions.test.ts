import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { App, ArnFormat } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { RustFunction } from 'cargo-lambda-cdk';
import { ALARM_MUTE_REASON, SlackAlarmNotifierStack } from '../lib/notifier-stack';
import {
  ConfigError, DEFAULT_ACTIONS_CONCURRENCY, MAX_ACTIONS_CONCURRENCY, MIN_ACTIONS_CONCURRENCY, parseSettings,
} from '../lib/settings';
import {
  FIXTURES, KEY_ARN, OPERATOR_TOPIC, SECRET_ARN, SNAPSHOT_CONTEXTS, Statement, TOPIC_A, TOPIC_B, acknowledgements, allIdentityStatements,
  asArray, assertNagClean, bootstrapDir, build, byCanonical, grantsOf, logicalId, notifierId, resourceChanges, roleOf, snapshotBytes,
  synth, tempDir, templateBytes,
} from './helpers';

const ACTIONS = { appMode: 'true', actions: 'true' };
const EXISTING = { secretArn: SECRET_ARN, topicArns: `${TOPIC_A},${TOPIC_B}`, operatorTopicArn: OPERATOR_TOPIC };
const ROUTES = path.join(FIXTURES, 'routes.toml');
const SECRET_NAME = 'slack/bot';
const SECRET_NAME_ARN = {
  'Fn::Join': ['', [
    'arn:', { Ref: 'AWS::Partition' }, ':secretsmanager:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, `:secret:${SECRET_NAME}-??????`,
  ]],
};
const VIA_SECRETS_MANAGER = {
  StringEquals: { 'kms:ViaService': { 'Fn::Join': ['', ['secretsmanager.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } },
};
/** arn:${Partition}:cloudwatch:${Region}:${Account}:<type>:* */
const cloudwatchArn = (type: string, name = '*') => ({
  'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':cloudwatch:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, `:${type}:${name}`]],
});
/** The two statements of AlarmMutePolicy, exactly. */
const MUTE_STATEMENTS: Statement[] = [
  {
    Sid: 'ManageAlarmMuteRules',
    Effect: 'Allow',
    Action: ['cloudwatch:PutAlarmMuteRule', 'cloudwatch:DeleteAlarmMuteRule', 'cloudwatch:GetAlarmMuteRule'],
    Resource: cloudwatchArn('alarm-mute-rule', 'slack-mute-*'),
  },
  { Sid: 'MuteTargetAlarms', Effect: 'Allow', Action: 'cloudwatch:PutAlarmMuteRule', Resource: cloudwatchArn('alarm') },
];
const MUTE_ACK_IDS = [
  'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:cloudwatch:<AWS::Region>:<AWS::AccountId>:alarm-mute-rule:slack-mute-*]',
  'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:cloudwatch:<AWS::Region>:<AWS::AccountId>:alarm:*]',
];

type Resource = Record<string, any>;

function actionsId(template: Template): string {
  return logicalId(template, 'AWS::Lambda::Function', 'ActionsFunction');
}

function fn(template: Template, id: string): Resource {
  const f = template.findResources('AWS::Lambda::Function')[id];
  assert.ok(f, `no function ${id}`);
  return f;
}

function tableArn(template: Template) {
  return { 'Fn::GetAtt': [logicalId(template, 'AWS::DynamoDB::Table', 'ThreadsTable'), 'Arn'] };
}

function createdSecret(template: Template) {
  return { Ref: logicalId(template, 'AWS::SecretsManager::Secret', 'WebhookSecret') };
}

/** The actions role's statements, exactly. */
function expectedActionsGrants(template: Template, secret: unknown, key?: string): Statement[] {
  const statements: Statement[] = [
    {
      Sid: 'WriteOwnLogGroup',
      Effect: 'Allow',
      Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      Resource: { 'Fn::GetAtt': [logicalId(template, 'AWS::Logs::LogGroup', 'ActionsLogGroup'), 'Arn'] },
    },
    { Sid: 'ReadSlackAppSecret', Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: secret },
    {
      Sid: 'ReadWriteSlackThreads',
      Effect: 'Allow',
      Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
      Resource: tableArn(template),
    },
    ...MUTE_STATEMENTS,
  ];
  if (key) {
    statements.push({ Sid: 'DecryptSlackAppSecret', Effect: 'Allow', Action: 'kms:Decrypt', Resource: key, Condition: VIA_SECRETS_MANAGER });
  }
  return statements.sort(byCanonical);
}

/** Every Lambda permission on the function with this logical ID. */
function permissionsOf(template: Template, functionId: string): Resource[] {
  const arn = JSON.stringify({ 'Fn::GetAtt': [functionId, 'Arn'] });
  const ref = JSON.stringify({ Ref: functionId });
  return Object.values(template.findResources('AWS::Lambda::Permission'))
    .filter((p) => [arn, ref].includes(JSON.stringify(p.Properties.FunctionName)));
}

/** The zip assets (function code) in the cloud assembly. */
function codeAssets(outdir: string, stackName: string): string[] {
  const manifest = JSON.parse(fs.readFileSync(path.join(outdir, `${stackName}.assets.json`), 'utf8'));
  return Object.entries(manifest.files as Record<string, { source: { packaging: string } }>)
    .filter(([, f]) => f.source.packaging === 'zip')
    .map(([hash]) => hash);
}

describe('actions settings', () => {
  const get = (ctx: Record<string, unknown>) => (k: string) => ctx[k];

  it('actions is off by default and takes true/false (also 1/0, yes/no)', () => {
    const none = parseSettings(() => undefined);
    assert.equal(none.actions, false);
    assert.deepEqual(none.actionsAllowedUsers, []);
    assert.equal(none.actionsAllowedUsergroup, undefined);
    assert.equal(none.actionsConcurrency, undefined);
    for (const [raw, expected] of [['true', true], ['false', false], [true, true], ['1', true], ['no', false], [' YES ', true], ['', false]] as const) {
      assert.equal(parseSettings(get({ appMode: 'true', actions: raw })).actions, expected, `actions=${JSON.stringify(raw)}`);
    }
    assert.throws(() => synth({ ...ACTIONS, actions: 'maybe' }), /^SettingsError: Invalid context "actions": "maybe" is not true or false$/);
  });

  it('actions without appMode (and so without the threads table) is refused, saying why', () => {
    for (const ctx of [{ actions: 'true' }, { actions: 'true', appMode: 'false' }, { actions: 'yes', secretArn: SECRET_ARN, rotation: 'false' }]) {
      assert.throws(() => synth(ctx), (e: Error) => {
        assert.ok(e instanceof ConfigError, `${e}`);
        assert.match(e.message, /^Invalid context "actions": needs appMode=true: /);
        assert.match(e.message, /signing secret/);
        assert.match(e.message, /threads table .*THREADS_TABLE/);
        return true;
      }, JSON.stringify(ctx));
    }
    assert.equal(parseSettings(get({ actions: 'false' })).actions, false);
    // the stack refuses it too when built without the settings parser
    assert.throws(
      () => new SlackAlarmNotifierStack(new App(), 'Direct', { actions: true, bootstrapDir: bootstrapDir() }),
      (e: Error) => e instanceof ConfigError && /actions=true needs appMode=true/.test(e.message),
    );
  });

  it('actionsAllowedUsers: Slack user IDs (U… or W…), comma-separated or a JSON array', () => {
    for (const [raw, expected] of [
      ['U0123ABCD', ['U0123ABCD']],
      ['U0123ABCD, W0123ABCDE ,U024BE7LH', ['U0123ABCD', 'W0123ABCDE', 'U024BE7LH']],
      ['["U0123ABCD","U0123ABCE"]', ['U0123ABCD', 'U0123ABCE']],
      [['U0123ABCD'], ['U0123ABCD']],
      ['', []],
    ] as const) {
      assert.deepEqual(parseSettings(get({ ...ACTIONS, actionsAllowedUsers: raw })).actionsAllowedUsers, expected, JSON.stringify(raw));
    }
    for (const bad of ['alice', '@alice', 'alice@example.com', 'u0123abcd', 'U012', 'S0123ABCD', 'C0123ABCD', 'U0123ABCD;U0123ABCE', 'U0123ABCD U0123ABCE', '<@U0123ABCD>', 'U0123ABC-D']) {
      assert.throws(
        () => parseSettings(get({ ...ACTIONS, actionsAllowedUsers: `U0123ABCD,${bad}` })),
        (e: Error) => e instanceof ConfigError && e.message.startsWith(`Invalid context "actionsAllowedUsers": "${bad}" is not a Slack user ID; give IDs like U0123ABCD`),
        bad,
      );
    }
    assert.throws(() => parseSettings(get({ ...ACTIONS, actionsAllowedUsers: 'U0123ABCD,U0123ABCD' })), /Invalid context "actionsAllowedUsers": the list contains a user twice/);
    assert.throws(() => parseSettings(get({ ...ACTIONS, actionsAllowedUsers: '[1]' })), /Invalid context "actionsAllowedUsers"/);
    assert.throws(() => synth({ ...ACTIONS, actionsAllowedUsers: 'bob' }), /^SettingsError: Invalid context "actionsAllowedUsers"/);
  });

  it('actionsAllowedUsergroup: one Slack user group ID (S…)', () => {
    assert.equal(parseSettings(get({ ...ACTIONS, actionsAllowedUsergroup: ' S0123ABCD ' })).actionsAllowedUsergroup, 'S0123ABCD');
    for (const bad of ['@oncall', 'oncall', 's0123abcd', 'S01', 'U0123ABCD', 'S0123ABCD,S0123ABCE', '<!subteam^S0123ABCD>']) {
      assert.throws(
        () => parseSettings(get({ ...ACTIONS, actionsAllowedUsergroup: bad })),
        (e: Error) => e instanceof ConfigError && e.message.startsWith(`Invalid context "actionsAllowedUsergroup": "${bad}" is not a Slack user group ID`),
        bad,
      );
    }
  });

  it(`actionsConcurrency: a whole number from ${MIN_ACTIONS_CONCURRENCY} to ${MAX_ACTIONS_CONCURRENCY}`, () => {
    assert.equal(DEFAULT_ACTIONS_CONCURRENCY, 5);
    for (const [raw, expected] of [['1', 1], [' 10 ', 10], ['100', 100], [3, 3], ['', undefined]] as const) {
      assert.equal(parseSettings(get({ ...ACTIONS, actionsConcurrency: raw })).actionsConcurrency, expected, JSON.stringify(raw));
    }
    for (const bad of ['0', '101', '-1', '2.5', '1e1', '0x8', 'five', 0, 101, 2.5, true]) {
      assert.throws(
        () => parseSettings(get({ ...ACTIONS, actionsConcurrency: bad })),
        /^SettingsError: Invalid context "actionsConcurrency": .* must be a whole number of concurrent executions reserved for the actions function from 1 to 100$/,
        JSON.stringify(bad),
      );
    }
  });

  it('with actions, notifierEnv may not set ACTIONS, ACTIONS_ALLOWED_USERS or ACTIONS_ALLOWED_USERGROUP; without, it still may', () => {
    for (const name of ['ACTIONS', 'ACTIONS_ALLOWED_USERS', 'ACTIONS_ALLOWED_USERGROUP']) {
      const notifierEnv = JSON.stringify({ [name]: 'x' });
      assert.throws(
        () => parseSettings(get({ ...ACTIONS, notifierEnv })),
        new RegExp(`^SettingsError: Invalid context "notifierEnv": ${name} is set by the stack with actions=true$`),
      );
      assert.deepEqual(parseSettings(get({ appMode: 'true', notifierEnv })).notifierEnv, { [name]: 'x' });
    }
  });
});

describe('actions off', () => {
  for (const [name, ctx] of Object.entries(SNAPSHOT_CONTEXTS)) {
    it(`${name}: the template is byte for byte the stored one, with actions unset or false`, () => {
      const snapshot = snapshotBytes(name);
      assert.ok(templateBytes(ctx).equals(snapshot), 'unset');
      assert.ok(templateBytes({ ...ctx, actions: 'false' }).equals(snapshot), 'false');
    });
  }

  it('the snapshot comparison can fail: actions=true changes the bytes', () => {
    assert.ok(!templateBytes({ ...SNAPSHOT_CONTEXTS['app-mode'], actions: 'true' }).equals(snapshotBytes('app-mode')));
  });

  it('the actions settings without actions=true only warn, and change nothing', () => {
    const extras = { actionsAllowedUsers: 'U0123ABCD', actionsAllowedUsergroup: 'S0123ABCD', actionsConcurrency: '7' };
    for (const [key, value] of Object.entries(extras)) {
      const { stack, template } = synth({ appMode: 'true', [key]: value });
      Annotations.fromStack(stack).hasWarning('*', Match.stringLikeRegexp('have no effect without actions=true'));
      template.resourceCountIs('AWS::Lambda::Url', 0);
      assert.ok(templateBytes({ appMode: 'true', [key]: value }).equals(snapshotBytes('app-mode')), key);
    }
    Annotations.fromStack(synth({ ...ACTIONS, ...extras }).stack).hasNoWarning('*', Match.anyValue());
  });
});

describe('actions=true: the actions function', () => {
  it('its own function from the notifier\'s code asset, 128 MB, 5 s, reserved concurrency 5, own role and log group', () => {
    const { template, outdir, stack } = synth({ ...ACTIONS, logRetentionDays: '14' });
    template.resourceCountIs('AWS::Lambda::Function', 2);
    const notifier = fn(template, notifierId(template)).Properties;
    const actions = fn(template, actionsId(template)).Properties;
    assert.equal(actions.Runtime, 'provided.al2023');
    assert.equal(actions.Handler, 'bootstrap');
    assert.equal(actions.MemorySize, 128);
    assert.equal(actions.Timeout, 5);
    assert.equal(actions.ReservedConcurrentExecutions, 5);
    assert.deepEqual(actions.Architectures, ['x86_64']);
    assert.deepEqual(actions.Code, notifier.Code);
    assert.equal(codeAssets(outdir, stack.stackName).length, 1);
    const logGroup = logicalId(template, 'AWS::Logs::LogGroup', 'ActionsLogGroup');
    assert.deepEqual(actions.LoggingConfig, { LogFormat: 'JSON', ApplicationLogLevel: 'INFO', LogGroup: { Ref: logGroup } });
    const lg = template.findResources('AWS::Logs::LogGroup')[logGroup];
    assert.deepEqual(lg.Properties, { RetentionInDays: 14 });
    assert.equal(lg.DeletionPolicy, 'Retain');
    assert.notEqual(roleOf(template, actionsId(template)), roleOf(template, notifierId(template)));
    // invoked synchronously through its URL only: no subscription, event source, async config or layer
    const ref = JSON.stringify({ Ref: actionsId(template) });
    const arn = JSON.stringify({ 'Fn::GetAtt': [actionsId(template), 'Arn'] });
    for (const type of ['AWS::SNS::Subscription', 'AWS::Lambda::EventSourceMapping', 'AWS::Lambda::EventInvokeConfig']) {
      for (const r of Object.values(template.findResources(type))) assert.ok(![ref, arn].some((s) => JSON.stringify(r).includes(s)), type);
    }
    assert.equal(actions.Layers, undefined);
    assert.equal(actions.DeadLetterConfig, undefined);
  });

  it('actionsConcurrency sets the reserved concurrency; the architecture follows the notifier', () => {
    const { template } = synth({ ...ACTIONS, actionsConcurrency: '12', architecture: 'arm64' });
    assert.equal(fn(template, actionsId(template)).Properties.ReservedConcurrentExecutions, 12);
    assert.deepEqual(fn(template, actionsId(template)).Properties.Architectures, ['arm64']);
  });

  it('environment: SecretId, THREADS_TABLE, ACTIONS=true, and the allowed users and group only when given', () => {
    const { template } = synth(ACTIONS);
    const table = { Ref: logicalId(template, 'AWS::DynamoDB::Table', 'ThreadsTable') };
    assert.deepEqual(fn(template, actionsId(template)).Properties.Environment.Variables, {
      SecretId: createdSecret(template), THREADS_TABLE: table, ACTIONS: 'true',
    });
    const limited = synth({
      ...ACTIONS, secretArn: SECRET_ARN, actionsAllowedUsers: 'U0123ABCD, W0123ABCDE', actionsAllowedUsergroup: 'S0123ABCD', notifierEnv: '{"RUST_LOG":"debug"}',
    }).template;
    assert.deepEqual(fn(limited, actionsId(limited)).Properties.Environment.Variables, {
      RUST_LOG: 'debug',
      SecretId: SECRET_ARN,
      THREADS_TABLE: { Ref: logicalId(limited, 'AWS::DynamoDB::Table', 'ThreadsTable') },
      ACTIONS: 'true',
      ACTIONS_ALLOWED_USERS: 'U0123ABCD,W0123ABCDE',
      ACTIONS_ALLOWED_USERGROUP: 'S0123ABCD',
    });
  });

  it('with routes: the routes layer and ROUTES_FILE (to know the channels the notifier posts to), but no tag grant', () => {
    const { template } = synth({ ...ACTIONS, routesFile: ROUTES });
    const layer = { Ref: logicalId(template, 'AWS::Lambda::LayerVersion', 'RoutesLayer') };
    const actions = fn(template, actionsId(template)).Properties;
    assert.deepEqual(actions.Layers, [layer]);
    assert.equal(actions.Environment.Variables.ROUTES_FILE, '/opt/routes.toml');
    for (const s of grantsOf(template, roleOf(template, actionsId(template)))) assert.ok(!asArray(s.Action).includes('cloudwatch:ListTagsForResource'));
  });

  it('the notifier gets ACTIONS=true and nothing else: same role, same statements, no mute permission', () => {
    const before = synth({ appMode: 'true' }).template;
    const { template } = synth(ACTIONS);
    assert.deepEqual(fn(template, notifierId(template)).Properties.Environment.Variables, {
      ...fn(before, notifierId(before)).Properties.Environment.Variables, ACTIONS: 'true',
    });
    assert.deepEqual(grantsOf(template, roleOf(template, notifierId(template))), grantsOf(before, roleOf(before, notifierId(before))));
    const changes = resourceChanges(before, template);
    assert.deepEqual(changes.changed, [notifierId(template)]);
    assert.deepEqual(changes.added, [
      'ActionsErrorsAlarm', 'ActionsFunction', 'ActionsFunctionRole', 'ActionsFunctionRoleDefaultPolicy', 'ActionsLogGroup', 'AlarmMutePolicy',
      'ActionsFunctionFunctionUrl', 'ActionsFunctioninvokefunctionurl', 'ActionsFunctioninvokefunction',
    ].map((p) => changes.added.find((id) => new RegExp(`^${p}[0-9A-F]{8}$`).test(id)) ?? `missing ${p}`).sort());
  });

  it('output: the URL to paste into the Slack app\'s Interactivity settings, and the function\'s name', () => {
    const { template } = synth(ACTIONS);
    const urlId = logicalId(template, 'AWS::Lambda::Url', 'ActionsFunction/FunctionUrl');
    const out = template.findOutputs('ActionsUrl').ActionsUrl;
    assert.deepEqual(out.Value, { 'Fn::GetAtt': [urlId, 'FunctionUrl'] });
    assert.match(out.Description, /Interactivity & Shortcuts, Request URL/);
    assert.match(out.Description, /SLACK_SIGNING_SECRET/);
    template.hasOutput('ActionsFunctionName', { Value: { Ref: actionsId(template) } });
    // the put-secret-value command names the signing secret too, in both app-mode shapes
    const command = (t: Template): string => t.findOutputs('PutSecretValueCommand').PutSecretValueCommand.Value['Fn::Join'][1]
      .filter((part: unknown) => typeof part === 'string').join('');
    assert.match(command(template), /'\{"SLACK_BOT_TOKEN":"xoxb-\.\.\.","SLACK_CHANNEL":"C0123456789","SLACK_SIGNING_SECRET":"\.\.\."\}'$/);
    assert.match(command(synth({ ...ACTIONS, rotation: 'true' }).template), /"SLACK_CLIENT_SECRET":"\.\.\.","SLACK_SIGNING_SECRET":"\.\.\."\}'$/);
    assert.doesNotMatch(command(synth({ appMode: 'true' }).template), /SLACK_SIGNING_SECRET/);
  });

  it('an alarm on the actions function\'s errors, to the operator topic', () => {
    const { template } = synth({ ...ACTIONS, operatorTopicArn: OPERATOR_TOPIC });
    const alarm = template.findResources('AWS::CloudWatch::Alarm')[logicalId(template, 'AWS::CloudWatch::Alarm', 'ActionsErrorsAlarm')].Properties;
    assert.equal(alarm.MetricName, 'Errors');
    assert.deepEqual(alarm.Dimensions, [{ Name: 'FunctionName', Value: { Ref: actionsId(template) } }]);
    assert.equal(alarm.Threshold, 1);
    assert.deepEqual(alarm.AlarmActions, [OPERATOR_TOPIC]);
    assert.deepEqual(alarm.OKActions, [OPERATOR_TOPIC]);
  });

  it('built with cargo lambda: the actions function (and the rotation function) reuse the RustFunction\'s asset, no second build', () => {
    const crate = tempDir('crate');
    fs.writeFileSync(path.join(crate, 'Cargo.toml'), '[package]\nname = "slack-alarm-notifier"\nversion = "0.1.0"\nedition = "2021"\n');
    const { stack, template, outdir } = synth({
      ...ACTIONS, rotation: 'true', manifestPath: path.join(crate, 'Cargo.toml'), 'aws:cdk:bundling-stacks': [],
    });
    assert.ok(stack.function instanceof RustFunction);
    assert.ok(!(stack.actionsFunction instanceof RustFunction));
    const notifier = fn(template, notifierId(template)).Properties;
    assert.ok(notifier.Code.S3Key);
    assert.deepEqual(fn(template, actionsId(template)).Properties.Code, notifier.Code);
    assert.deepEqual(fn(template, logicalId(template, 'AWS::Lambda::Function', 'RotationFunction')).Properties.Code, notifier.Code);
    assert.equal(codeAssets(outdir, stack.stackName).length, 1);
  });
});

describe('actions=true: the function URL', () => {
  it('auth type NONE, on the function itself (no alias), no CORS', () => {
    const { template } = synth(ACTIONS);
    template.resourceCountIs('AWS::Lambda::Url', 1);
    const url = Object.values(template.findResources('AWS::Lambda::Url'))[0];
    assert.deepEqual(url.Properties, { AuthType: 'NONE', TargetFunctionArn: { 'Fn::GetAtt': [actionsId(template), 'Arn'] } });
  });

  it('public through the URL only: InvokeFunctionUrl for "*" with auth NONE, and InvokeFunction for "*" only via the URL', () => {
    const { template } = synth(ACTIONS);
    const fnArn = { 'Fn::GetAtt': [actionsId(template), 'Arn'] };
    assert.deepEqual(permissionsOf(template, actionsId(template)).map((p) => p.Properties).sort(byCanonical), [
      { Action: 'lambda:InvokeFunctionUrl', FunctionName: fnArn, FunctionUrlAuthType: 'NONE', Principal: '*' },
      { Action: 'lambda:InvokeFunction', FunctionName: fnArn, InvokedViaFunctionUrl: true, Principal: '*' },
    ].sort(byCanonical));
    // no other permission in the template is public
    const publicOnes = Object.values(template.findResources('AWS::Lambda::Permission')).filter((p) => p.Properties.Principal === '*');
    assert.equal(publicOnes.length, 2);
  });
});

describe('actions=true: the actions role', () => {
  const cases: [string, Record<string, unknown>, (t: Template) => unknown, string?][] = [
    ['created secret', {}, createdSecret],
    ['created secret with a key', { secretKmsKeyArn: KEY_ARN }, createdSecret, KEY_ARN],
    ['secretArn', { secretArn: SECRET_ARN }, () => SECRET_ARN],
    ['secretArn with a key, batching, routes, rotation, charts', {
      secretArn: SECRET_ARN, secretKmsKeyArn: KEY_ARN, batching: 'true', routesFile: ROUTES, rotation: 'true', metricCharts: 'true',
    }, () => SECRET_ARN, KEY_ARN],
    ['secretName', { secretName: SECRET_NAME }, () => SECRET_NAME_ARN],
  ];
  for (const [name, ctx, secret, key] of cases) {
    it(`${name}: exactly its logs, GetSecretValue on the secret${key ? ', Decrypt via Secrets Manager' : ''}, the table, and the mute rules`, () => {
      const { template } = synth({ ...ACTIONS, ...ctx });
      assert.deepEqual(grantsOf(template, roleOf(template, actionsId(template))), expectedActionsGrants(template, secret(template), key));
    });
  }

  it('the mute statements are alone in AlarmMutePolicy, on the actions role only; no other role can mute', () => {
    const { template } = synth({ ...ACTIONS, rotation: 'true', routesFile: ROUTES, metricCharts: 'true' });
    const policyId = logicalId(template, 'AWS::IAM::Policy', 'AlarmMutePolicy');
    const policy = template.findResources('AWS::IAM::Policy')[policyId];
    assert.deepEqual(policy.Properties.PolicyDocument.Statement, MUTE_STATEMENTS);
    assert.deepEqual(policy.Properties.Roles, [{ Ref: roleOf(template, actionsId(template)) }]);
    assert.ok(fn(template, actionsId(template)).DependsOn.includes(policyId));
    const muting = allIdentityStatements(template).filter((s) => asArray<string>(s.Action).some((a) => /AlarmMuteRule/.test(a)));
    assert.deepEqual(muting, MUTE_STATEMENTS);
    for (const id of [notifierId(template), logicalId(template, 'AWS::Lambda::Function', 'RotationFunction')]) {
      for (const s of grantsOf(template, roleOf(template, id))) {
        for (const a of asArray<string>(s.Action)) assert.ok(!/AlarmMuteRule|TagResource/.test(a), `${id}: ${a}`);
      }
    }
  });

  it('no Scan, Query, DeleteItem or batch access to the table, and no other DynamoDB resource', () => {
    const { template } = synth(ACTIONS);
    const dynamo = grantsOf(template, roleOf(template, actionsId(template))).filter((s) => JSON.stringify(s.Action).includes('dynamodb:'));
    assert.equal(dynamo.length, 1);
    assert.deepEqual(dynamo[0].Action, ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']);
    assert.deepEqual(dynamo[0].Resource, tableArn(template));
  });

  it('the check above catches a broader grant', () => {
    const { stack } = build(ACTIONS, {}, false);
    stack.actionsFunctionRole!.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['cloudwatch:DescribeAlarms'], resources: ['*'] }));
    const t = Template.fromStack(stack);
    assert.throws(() => assert.deepEqual(grantsOf(t, roleOf(t, actionsId(t))), expectedActionsGrants(t, createdSecret(t))), assert.AssertionError);
  });
});

describe('actions and cdk-nag AwsSolutions', () => {
  const configs: Record<string, Record<string, unknown>> = {
    actions: ACTIONS,
    'actions and metricCharts': { ...ACTIONS, metricCharts: 'true', metricChartTimeoutSeconds: '2' },
    'actions and metricCharts with everything': {
      ...SNAPSHOT_CONTEXTS['app-mode-all'], actions: 'true', metricCharts: 'true', actionsAllowedUsers: 'U0123ABCD', actionsAllowedUsergroup: 'S0123ABCD', actionsConcurrency: '3',
    },
    'actions, secretName with a key, existing topics, arm64': {
      ...ACTIONS, secretName: SECRET_NAME, secretKmsKeyArn: KEY_ARN, topicArns: EXISTING.topicArns, operatorTopicArn: OPERATOR_TOPIC, architecture: 'arm64',
    },
  };
  for (const [name, context] of Object.entries(configs)) {
    it(`${name}: no unacknowledged errors or warnings`, () => assertNagClean(context));
  }

  it('two new acknowledgements, both on AlarmMutePolicy: IAM5 for alarm-mute-rule:slack-mute-* and alarm:*, with the reason', () => {
    for (const base of [{ appMode: 'true' }, { appMode: 'true', ...EXISTING, rotation: 'true' }]) {
      const without = acknowledgements(build(base).app);
      const withActions = acknowledgements(build({ ...base, actions: 'true' }).app);
      const added = MUTE_ACK_IDS.map((id) => ({ path: 'AlarmMutePolicy', id, reason: ALARM_MUTE_REASON }));
      assert.deepEqual(withActions.sort(byCanonical), [...without, ...added].sort(byCanonical), JSON.stringify(base));
    }
    assert.match(ALARM_MUTE_REASON, /alarm-mute-rule:slack-mute-\*/);
  });

  it('the acknowledgements cover that policy only: the same wildcards on the actions role\'s default policy are findings', () => {
    const { app, stack } = build(ACTIONS);
    const role = stack.actionsFunctionRole!;
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['cloudwatch:DeleteAlarmMuteRule'],
      resources: [stack.formatArn({ service: 'cloudwatch', resource: 'alarm-mute-rule', resourceName: 'slack-mute-*', arnFormat: ArnFormat.COLON_RESOURCE_NAME })],
    }));
    const direct = new AwsSolutionsChecks().validateScope(app);
    assert.deepEqual(direct.violations.map((v) => v.ruleName), [MUTE_ACK_IDS[0]]);
    assert.deepEqual(direct.violations[0].violatingResources.map((r) => r.constructPath), [`${stack.stackName}/ActionsFunctionRole/DefaultPolicy/Resource`]);
  });
});
