import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { App, ArnFormat } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ALARM_TAGS_REASON, SlackAlarmNotifierStack } from '../lib/notifier-stack';
import { ROUTES_FILE_PATH, readRoutesFile } from '../lib/routes';
import { ConfigError, parseSettings } from '../lib/settings';
import {
  FIXTURES, KEY_ARN, OPERATOR_TOPIC, SECRET_ARN, TOPIC_A, TOPIC_B, acknowledgements, allIdentityStatements, asArray, assertNagClean,
  bootstrapDir, build, byCanonical, grantsOf, logicalId, notifierId, resourceChanges, roleOf, synth, tempDir, templateBytes,
} from './helpers';

/** Routes that match on tags (app mode: channels). */
const ROUTES = path.join(FIXTURES, 'routes.toml');
/** Routes without a tags matcher (webhook mode: webhook names). */
const ROUTES_NO_TAGS = path.join(FIXTURES, 'routes-no-tags.toml');
const EXISTING = { secretArn: SECRET_ARN, topicArns: `${TOPIC_A},${TOPIC_B}`, operatorTopicArn: OPERATOR_TOPIC };
const ALARM_TAGS_ACK_ID = 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:cloudwatch:<AWS::Region>:<AWS::AccountId>:alarm:*]';
/** The statement a tags matcher adds to the notifier's role. */
const READ_ALARM_TAGS = {
  Sid: 'ReadAlarmTags',
  Effect: 'Allow',
  Action: 'cloudwatch:ListTagsForResource',
  Resource: {
    'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':cloudwatch:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':alarm:*']],
  },
};

/** A routes file with this text in a fresh folder. */
function routesFile(text: string, name = 'routes.toml', mode = 0o644): string {
  const file = path.join(tempDir('routes'), name);
  fs.writeFileSync(file, text, { mode });
  fs.chmodSync(file, mode);
  return file;
}

function fn(template: Template, id: string): Record<string, any> {
  return template.findResources('AWS::Lambda::Function')[id].Properties;
}

function layerId(template: Template): string {
  return logicalId(template, 'AWS::Lambda::LayerVersion', 'RoutesLayer');
}

/** The staged folder of the routes layer's asset in the cloud assembly. */
function stagedLayer(template: Template, outdir: string): string {
  const key: string = template.findResources('AWS::Lambda::LayerVersion')[layerId(template)].Properties.Content.S3Key;
  return path.join(outdir, `asset.${key.replace(/\.zip$/, '')}`);
}

describe('routesFile setting', () => {
  const get = (ctx: Record<string, unknown>) => (k: string) => ctx[k];

  it('is unset by default; a path is resolved against the working directory', () => {
    assert.equal(parseSettings(() => undefined).routesFile, undefined);
    assert.equal(parseSettings(get({ routesFile: '  ' })).routesFile, undefined);
    assert.equal(parseSettings(get({ routesFile: ROUTES })).routesFile, ROUTES);
    const relative = path.relative(process.cwd(), ROUTES);
    assert.equal(parseSettings(get({ routesFile: relative })).routesFile, ROUTES);
  });

  it('reads the file: routes, default, and whether a route matches on tags', () => {
    const r = readRoutesFile(ROUTES);
    assert.deepEqual({ path: r.path, routeCount: r.routeCount, hasDefault: r.hasDefault, matchesTags: r.matchesTags },
      { path: ROUTES, routeCount: 2, hasDefault: true, matchesTags: true });
    assert.deepEqual(r.content, fs.readFileSync(ROUTES));
    const summary = (file: string) => {
      const { routeCount, hasDefault, matchesTags } = readRoutesFile(file);
      return { routeCount, hasDefault, matchesTags };
    };
    assert.deepEqual(summary(ROUTES_NO_TAGS), { routeCount: 2, hasDefault: true, matchesTags: false });
    // only a default, only routes
    assert.deepEqual(summary(routesFile('[default]\nchannel = "C1"\n')), { routeCount: 0, hasDefault: true, matchesTags: false });
    assert.deepEqual(summary(routesFile('[[route]]\nchannel = "C1"\nmatch = { tags = { a = "b" } }\n')), { routeCount: 1, hasDefault: false, matchesTags: true });
    // tags in a later route, as a dotted key
    assert.equal(readRoutesFile(routesFile('[[route]]\nchannel = "C1"\n[[route]]\nchannel = "C2"\nmatch.tags.team = "x"\n')).matchesTags, true);
    // "tags" elsewhere than in a route's match does not count
    assert.equal(readRoutesFile(routesFile('[[route]]\nchannel = "C1"\ntags = "x"\nmatch = { source = ["aws.health"] }\n[default]\nchannel = "C2"\nmatch = { tags = {} }\n')).matchesTags, false);
  });

  const bad: [string, string, RegExp][] = [
    ['not TOML', 'route = [', /: not a TOML document: /],
    ['a key twice', '[default]\nchannel = "A"\nchannel = "B"\n', /: not a TOML document: /],
    ['empty', '', /: it has no \[\[route\]\] and no \[default\] table, so it would route nothing$/],
    ['neither table', 'channel = "C1"\n', /it has no \[\[route\]\] and no \[default\] table/],
    ['an empty route array', 'route = []\n', /it has no \[\[route\]\] and no \[default\] table/],
    ['route not an array', 'route = "payments"\n', /: "route" must be an array of tables \(\[\[route\]\]\)$/],
    ['route a single table', '[route]\nchannel = "C1"\n', /"route" must be an array of tables/],
    ['route an array of strings', 'route = ["a"]\n', /"route" must be an array of tables/],
    ['default not a table', 'default = "C1"\n', /: "default" must be a table \(\[default\]\)$/],
    ['default an array', '[[default]]\nchannel = "C1"\n', /"default" must be a table/],
    ['match not a table', '[[route]]\nname = "p"\nchannel = "C1"\nmatch = "payments"\n', /: the "match" of route 1 \("p"\) must be a table/],
  ];
  for (const [name, text, message] of bad) {
    it(`${name}: a synth error naming routesFile and the file`, () => {
      const file = routesFile(text);
      assert.throws(() => parseSettings(get({ routesFile: file })), (e: Error) => {
        assert.ok(e instanceof ConfigError, `${e}`);
        assert.ok(e.message.startsWith(`Invalid context "routesFile": ${file}: `), e.message);
        assert.match(e.message, message);
        return true;
      });
      assert.throws(() => synth({ routesFile: file }), /^SettingsError: Invalid context "routesFile"/);
    });
  }

  it('a missing file, or a folder, is refused', () => {
    const missing = path.join(tempDir('routes'), 'nope.toml');
    assert.throws(() => parseSettings(get({ routesFile: missing })), new RegExp(`^SettingsError: Invalid context "routesFile": ${missing}: no such file$`));
    const dir = tempDir('routes');
    assert.throws(() => parseSettings(get({ routesFile: dir })), new RegExp(`Invalid context "routesFile": ${dir}: not a file$`));
    assert.throws(() => synth({ routesFile: missing }), /Invalid context "routesFile": .*no such file/);
  });

  it('the stack checks the file too when built without the settings parser', () => {
    assert.throws(
      () => new SlackAlarmNotifierStack(new App(), 'Direct', { routesFile: routesFile('x = 1\n'), bootstrapDir: bootstrapDir() }),
      /Invalid context "routesFile": .*no \[\[route\]\] and no \[default\]/,
    );
  });

  it('with routesFile, notifierEnv may not set ROUTES_FILE; without, it still may', () => {
    assert.throws(
      () => parseSettings(get({ routesFile: ROUTES, notifierEnv: '{"ROUTES_FILE":"/tmp/x.toml"}' })),
      /Invalid context "notifierEnv": ROUTES_FILE is set by the stack with routesFile \(\/opt\/routes.toml, in the routes layer\)/,
    );
    assert.deepEqual(parseSettings(get({ notifierEnv: '{"ROUTES_FILE":"/tmp/x.toml"}' })).notifierEnv, { ROUTES_FILE: '/tmp/x.toml' });
  });
});

describe('routesFile unset', () => {
  for (const [name, ctx] of Object.entries({
    defaults: {},
    'appMode, rotation': { appMode: 'true', rotation: 'true' },
    'batching, existing': { ...EXISTING, batching: 'true' },
  })) {
    it(`${name}: no layer, no ROUTES_FILE, no ListTagsForResource; an empty routesFile is the same template, byte for byte`, () => {
      const { template } = synth(ctx);
      template.resourceCountIs('AWS::Lambda::LayerVersion', 0);
      for (const f of Object.values(template.findResources('AWS::Lambda::Function'))) {
        assert.equal(f.Properties.Layers, undefined);
        assert.ok(!('ROUTES_FILE' in f.Properties.Environment.Variables));
      }
      for (const s of allIdentityStatements(template)) assert.ok(!asArray(s.Action).includes('cloudwatch:ListTagsForResource'));
      assert.ok(templateBytes({ ...ctx, routesFile: '' }).equals(templateBytes(ctx)));
    });
  }
});

describe('routesFile set', () => {
  it('a layer holding only routes.toml (the file\'s bytes, readable by all), for provided.al2023', () => {
    const { template, outdir } = synth({ routesFile: ROUTES });
    template.resourceCountIs('AWS::Lambda::LayerVersion', 1);
    const layer = template.findResources('AWS::Lambda::LayerVersion')[layerId(template)];
    assert.deepEqual(Object.keys(layer.Properties).sort(), ['CompatibleRuntimes', 'Content', 'Description']);
    assert.deepEqual(layer.Properties.CompatibleRuntimes, ['provided.al2023']);
    assert.match(layer.Properties.Description, /\/opt\/routes\.toml/);
    // replaced, not kept, when the routes change: the function moves to the new version
    assert.equal(layer.DeletionPolicy, undefined);
    const staged = stagedLayer(template, outdir);
    assert.deepEqual(fs.readdirSync(staged), ['routes.toml']);
    assert.ok(fs.readFileSync(path.join(staged, 'routes.toml')).equals(fs.readFileSync(ROUTES)));
    assert.equal(fs.statSync(path.join(staged, 'routes.toml')).mode & 0o777, 0o644);
  });

  it('the notifier gets the layer and ROUTES_FILE=/opt/routes.toml; its code asset does not change', () => {
    const without = synth({ notifierEnv: '{"RUST_LOG":"debug"}' }).template;
    const { template } = synth({ routesFile: ROUTES, notifierEnv: '{"RUST_LOG":"debug"}' });
    const notifier = fn(template, notifierId(template));
    assert.equal(ROUTES_FILE_PATH, '/opt/routes.toml');
    assert.deepEqual(notifier.Layers, [{ Ref: layerId(template) }]);
    assert.deepEqual(notifier.Environment.Variables, {
      RUST_LOG: 'debug',
      SecretId: { Ref: logicalId(template, 'AWS::SecretsManager::Secret', 'WebhookSecret') },
      ROUTES_FILE: '/opt/routes.toml',
    });
    assert.deepEqual(notifier.Code, fn(without, notifierId(without)).Code);
  });

  it('the layer depends on the file\'s bytes only: another name or mode gives the same layer; other bytes a new one', () => {
    const text = fs.readFileSync(ROUTES, 'utf8');
    const key = (file: string) => {
      const { template } = synth({ routesFile: file });
      return template.findResources('AWS::Lambda::LayerVersion')[layerId(template)].Properties.Content.S3Key;
    };
    const original = key(ROUTES);
    assert.equal(key(routesFile(text, 'team-routes.toml', 0o600)), original);
    assert.notEqual(key(routesFile(`${text}\n# changed\n`)), original);
    // a private source file, staged under a strict umask, is still readable in the layer
    const previous = process.umask(0o077);
    try {
      const { template, outdir } = synth({ routesFile: routesFile(`${text}\n# private\n`, 'private.toml', 0o600) });
      assert.equal(fs.statSync(path.join(stagedLayer(template, outdir), 'routes.toml')).mode & 0o777, 0o644);
    } finally {
      process.umask(previous);
    }
  });

  it('adds the layer only (without a tags matcher); changes only the notifier', () => {
    for (const base of [{}, { appMode: 'true' }, { ...EXISTING, batching: 'true' }]) {
      const before = synth(base).template;
      const { template } = synth({ ...base, routesFile: ROUTES_NO_TAGS });
      assert.deepEqual(resourceChanges(before, template), { added: [layerId(template)], changed: [notifierId(template)] }, JSON.stringify(base));
      assert.deepEqual(template.toJSON().Outputs, before.toJSON().Outputs);
    }
  });

  it('with a tags matcher: also the alarm tags policy, which the notifier waits for', () => {
    const before = synth().template;
    const { template } = synth({ routesFile: ROUTES });
    const policyId = logicalId(template, 'AWS::IAM::Policy', 'AlarmTagsPolicy');
    assert.deepEqual(resourceChanges(before, template), { added: [policyId, layerId(template)].sort(), changed: [notifierId(template)] });
    assert.ok(template.toJSON().Resources[notifierId(template)].DependsOn.includes(policyId));
  });

  it('the rotation function gets neither the layer nor ROUTES_FILE', () => {
    const { template } = synth({ appMode: 'true', rotation: 'true', routesFile: ROUTES });
    const rotation = fn(template, logicalId(template, 'AWS::Lambda::Function', 'RotationFunction'));
    assert.equal(rotation.Layers, undefined);
    assert.ok(!('ROUTES_FILE' in rotation.Environment.Variables));
  });
});

describe('routes grants', () => {
  const bases: Record<string, Record<string, unknown>> = {
    webhook: {},
    'webhook, existing secret with a key, batching': { ...EXISTING, secretKmsKeyArn: KEY_ARN, batching: 'true' },
    'app mode': { appMode: 'true' },
    'app mode, rotation': { appMode: 'true', rotation: 'true' },
  };
  for (const [name, base] of Object.entries(bases)) {
    it(`${name}: a tags matcher adds exactly ListTagsForResource on alarm:* to the notifier's role, and to no other role`, () => {
      const before = synth(base).template;
      const { template } = synth({ ...base, routesFile: ROUTES });
      const notifierRole = roleOf(template, notifierId(template));
      assert.deepEqual(grantsOf(template, notifierRole), [...grantsOf(before, roleOf(before, notifierId(before))), READ_ALARM_TAGS].sort(byCanonical));
      const policy = template.findResources('AWS::IAM::Policy')[logicalId(template, 'AWS::IAM::Policy', 'AlarmTagsPolicy')];
      assert.deepEqual(policy.Properties.PolicyDocument.Statement, [READ_ALARM_TAGS]);
      assert.deepEqual(policy.Properties.Roles, [{ Ref: notifierRole }]);
      const tagReaders = allIdentityStatements(template).filter((s) => asArray(s.Action).includes('cloudwatch:ListTagsForResource'));
      assert.deepEqual(tagReaders, [READ_ALARM_TAGS]);
    });

    it(`${name}: without a tags matcher the roles are exactly as without routes`, () => {
      const before = synth(base).template;
      const { template } = synth({ ...base, routesFile: ROUTES_NO_TAGS });
      for (const id of Object.keys(before.findResources('AWS::IAM::Role'))) {
        assert.deepEqual(grantsOf(template, id), grantsOf(before, id), id);
      }
      template.resourceCountIs('AWS::IAM::Policy', Object.keys(before.findResources('AWS::IAM::Policy')).length);
    });
  }
});

describe('routes and cdk-nag AwsSolutions', () => {
  const configs: Record<string, Record<string, unknown>> = {
    'routes with tags': { routesFile: ROUTES },
    'routes without tags': { routesFile: ROUTES_NO_TAGS },
    'routes, app mode, rotation, batching, existing topics': {
      routesFile: ROUTES, appMode: 'true', rotation: 'true', batching: 'true', ...EXISTING, architecture: 'arm64',
    },
  };
  for (const [name, context] of Object.entries(configs)) {
    it(`${name}: no unacknowledged errors or warnings`, () => assertNagClean(context));
  }

  it('one acknowledgement more with a tags matcher (IAM5 for alarm:* on the alarm tags policy), none without', () => {
    const ack = { path: 'AlarmTagsPolicy', id: ALARM_TAGS_ACK_ID, reason: ALARM_TAGS_REASON };
    for (const base of [{}, { appMode: 'true', rotation: 'true' }]) {
      const without = acknowledgements(build(base).app);
      assert.deepEqual(acknowledgements(build({ ...base, routesFile: ROUTES }).app).sort(byCanonical), [...without, ack].sort(byCanonical));
      assert.deepEqual(acknowledgements(build({ ...base, routesFile: ROUTES_NO_TAGS }).app), without);
    }
  });

  it('the acknowledgement is needed (cdk-nag reports the grant without it), and covers that policy only', () => {
    const { app, stack } = build({ routesFile: ROUTES });
    // the same statement on the role's default policy is reported, under the acknowledged ID
    stack.functionRole.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['cloudwatch:ListTagsForResource'],
      resources: [stack.formatArn({ service: 'cloudwatch', resource: 'alarm', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME })],
    }));
    const direct = new AwsSolutionsChecks().validateScope(app);
    assert.deepEqual(direct.violations.map((v) => v.ruleName), [ALARM_TAGS_ACK_ID]);
    assert.deepEqual(direct.violations[0].violatingResources.map((r) => r.constructPath), [`${stack.stackName}/FunctionRole/DefaultPolicy/Resource`]);
  });
});
