import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { FUNCTION_TIMEOUT, METRIC_DATA_REASON } from '../lib/notifier-stack';
import { ConfigError, NOTIFIER_TIMEOUT_SECONDS, parseSettings } from '../lib/settings';
import {
  KEY_ARN, OPERATOR_TOPIC, SECRET_ARN, SNAPSHOT_CONTEXTS, TOPIC_A, TOPIC_B, acknowledgements, allIdentityStatements, asArray,
  assertNagClean, build, byCanonical, grantsOf, logicalId, notifierId, resourceChanges, roleOf, snapshotBytes, synth, templateBytes,
} from './helpers';

const CHARTS = { metricCharts: 'true' };
const EXISTING = { secretArn: SECRET_ARN, topicArns: `${TOPIC_A},${TOPIC_B}`, operatorTopicArn: OPERATOR_TOPIC };
/** The one statement metricCharts adds to the notifier's role. */
const READ_METRIC_DATA = { Sid: 'ReadMetricDataForCharts', Effect: 'Allow', Action: 'cloudwatch:GetMetricData', Resource: '*' };

function env(template: Template, id: string): Record<string, unknown> {
  return template.findResources('AWS::Lambda::Function')[id].Properties.Environment.Variables;
}

function chartPolicyId(template: Template): string {
  return logicalId(template, 'AWS::IAM::Policy', 'MetricChartPolicy');
}

describe('metricCharts settings', () => {
  const get = (ctx: Record<string, unknown>) => (k: string) => ctx[k];

  it('metricCharts is off by default and takes true/false (also 1/0, yes/no)', () => {
    assert.equal(parseSettings(() => undefined).metricCharts, false);
    assert.equal(parseSettings(() => undefined).metricChartTimeoutSeconds, undefined);
    for (const [raw, expected] of [['true', true], ['false', false], [true, true], ['1', true], ['no', false], [' YES ', true], ['', false]] as const) {
      assert.equal(parseSettings(get({ metricCharts: raw })).metricCharts, expected, `metricCharts=${JSON.stringify(raw)}`);
    }
    assert.throws(() => synth({ metricCharts: 'sometimes' }), /^SettingsError: Invalid context "metricCharts": "sometimes" is not true or false$/);
  });

  it(`metricChartTimeoutSeconds: a number of seconds from 1 and below the notifier's ${NOTIFIER_TIMEOUT_SECONDS} s timeout`, () => {
    assert.equal(FUNCTION_TIMEOUT.toSeconds(), NOTIFIER_TIMEOUT_SECONDS);
    for (const [raw, expected] of [['1', 1], [' 2 ', 2], ['2.5', 2.5], ['29', 29], ['29.9', 29.9], [3, 3], [1.5, 1.5], ['', undefined]] as const) {
      assert.equal(parseSettings(get({ ...CHARTS, metricChartTimeoutSeconds: raw })).metricChartTimeoutSeconds, expected, `${JSON.stringify(raw)}`);
    }
    for (const bad of ['0', '0.5', '0.999', '30', '30.0', '31', '-1', '1e1', '0x2', '2s', 'one', 'Infinity', 'NaN', '.5', '1.', 0, 30, 45, -2, true, Infinity]) {
      assert.throws(
        () => parseSettings(get({ ...CHARTS, metricChartTimeoutSeconds: bad })),
        (e: Error) => {
          assert.ok(e instanceof ConfigError, `${e}`);
          assert.match(e.message, /^Invalid context "metricChartTimeoutSeconds": .* must be a number of seconds from 1 and below 30, the notifier's timeout/);
          return true;
        },
        `metricChartTimeoutSeconds=${JSON.stringify(bad)}`,
      );
    }
  });

  it('with metricCharts, notifierEnv may not set METRIC_CHARTS or METRIC_CHART_TIMEOUT_SECONDS; without, it still may', () => {
    for (const name of ['METRIC_CHARTS', 'METRIC_CHART_TIMEOUT_SECONDS']) {
      assert.throws(
        () => parseSettings(get({ ...CHARTS, notifierEnv: JSON.stringify({ [name]: '1' }) })),
        new RegExp(`^SettingsError: Invalid context "notifierEnv": ${name} is set by the stack with metricCharts=true$`),
      );
      assert.deepEqual(parseSettings(get({ notifierEnv: JSON.stringify({ [name]: '1' }) })).notifierEnv, { [name]: '1' });
    }
  });
});

describe('metricCharts off', () => {
  for (const [name, ctx] of Object.entries(SNAPSHOT_CONTEXTS)) {
    it(`${name}: the template is byte for byte the stored one, with metricCharts unset or false`, () => {
      const snapshot = snapshotBytes(name);
      assert.ok(templateBytes(ctx).equals(snapshot), 'unset');
      assert.ok(templateBytes({ ...ctx, metricCharts: 'false' }).equals(snapshot), 'false');
    });
  }

  it('the snapshot comparison can fail: metricCharts=true changes the bytes', () => {
    assert.ok(!templateBytes({ ...SNAPSHOT_CONTEXTS.defaults, ...CHARTS }).equals(snapshotBytes('defaults')));
  });

  it('no GetMetricData anywhere, no METRIC_CHARTS; metricChartTimeoutSeconds alone only warns', () => {
    const { stack, template } = synth({ appMode: 'true', rotation: 'true', metricChartTimeoutSeconds: '2' });
    for (const s of allIdentityStatements(template)) assert.ok(!asArray(s.Action).includes('cloudwatch:GetMetricData'));
    for (const f of Object.values(template.findResources('AWS::Lambda::Function'))) {
      assert.ok(!('METRIC_CHARTS' in f.Properties.Environment.Variables));
      assert.ok(!('METRIC_CHART_TIMEOUT_SECONDS' in f.Properties.Environment.Variables));
    }
    Annotations.fromStack(stack).hasWarning('*', Match.stringLikeRegexp('metricChartTimeoutSeconds has no effect without metricCharts=true'));
    assert.ok(templateBytes({ appMode: 'true', metricChartTimeoutSeconds: '2' }).equals(snapshotBytes('app-mode')));
    Annotations.fromStack(synth({ ...CHARTS, metricChartTimeoutSeconds: '2' }).stack).hasNoWarning('*', Match.anyValue());
  });
});

describe('metricCharts=true', () => {
  it('the notifier gets METRIC_CHARTS=true, and METRIC_CHART_TIMEOUT_SECONDS only when given', () => {
    const { template } = synth(CHARTS);
    assert.deepEqual(env(template, notifierId(template)), {
      SecretId: { Ref: logicalId(template, 'AWS::SecretsManager::Secret', 'WebhookSecret') },
      METRIC_CHARTS: 'true',
    });
    const timed = synth({ ...CHARTS, metricChartTimeoutSeconds: ' 2.5 ' }).template;
    assert.equal(env(timed, notifierId(timed)).METRIC_CHARTS, 'true');
    assert.equal(env(timed, notifierId(timed)).METRIC_CHART_TIMEOUT_SECONDS, '2.5');
    const whole = synth({ ...CHARTS, metricChartTimeoutSeconds: 3 }).template;
    assert.equal(env(whole, notifierId(whole)).METRIC_CHART_TIMEOUT_SECONDS, '3');
  });

  it('only the notifier: the rotation function gets neither the variable nor the grant', () => {
    const { template } = synth({ appMode: 'true', rotation: 'true', ...CHARTS });
    const rotationId = logicalId(template, 'AWS::Lambda::Function', 'RotationFunction');
    assert.ok(!('METRIC_CHARTS' in env(template, rotationId)));
    for (const s of grantsOf(template, roleOf(template, rotationId))) assert.ok(!JSON.stringify(s).includes('cloudwatch:'));
  });

  for (const [name, base] of Object.entries({
    webhook: {},
    'webhook, existing resources, key': { ...EXISTING, secretKmsKeyArn: KEY_ARN },
    appMode: { appMode: 'true' },
    'appMode, batching, routes': { appMode: 'true', batching: 'true', routesFile: SNAPSHOT_CONTEXTS['app-mode-all'].routesFile },
  })) {
    it(`${name}: the role gets exactly one more statement, GetMetricData on "*", alone in MetricChartPolicy`, () => {
      const before = synth(base).template;
      const { template } = synth({ ...base, ...CHARTS });
      const role = roleOf(template, notifierId(template));
      assert.deepEqual(grantsOf(template, role), [...grantsOf(before, roleOf(before, notifierId(before))), READ_METRIC_DATA].sort(byCanonical));
      const policy = template.findResources('AWS::IAM::Policy')[chartPolicyId(template)];
      assert.deepEqual(policy.Properties.PolicyDocument.Statement, [READ_METRIC_DATA]);
      assert.deepEqual(policy.Properties.Roles, [{ Ref: role }]);
      // the notifier is created after the policy, so its first alarm can have a chart
      assert.ok(template.findResources('AWS::Lambda::Function')[notifierId(template)].DependsOn.includes(chartPolicyId(template)));
      // GetMetricData nowhere else
      const withGetMetricData = allIdentityStatements(template).filter((s) => asArray(s.Action).includes('cloudwatch:GetMetricData'));
      assert.deepEqual(withGetMetricData, [READ_METRIC_DATA]);
      // besides the new policy, only the notifier changes
      assert.deepEqual(resourceChanges(before, template), { added: [chartPolicyId(template)], changed: [notifierId(template)] });
      assert.deepEqual(template.toJSON().Outputs, before.toJSON().Outputs);
    });
  }
});

describe('metricCharts and cdk-nag AwsSolutions', () => {
  for (const [name, ctx] of Object.entries({
    webhook: CHARTS,
    'webhook, existing resources, key, timeout': { ...CHARTS, ...EXISTING, secretKmsKeyArn: KEY_ARN, metricChartTimeoutSeconds: '2' },
    'appMode with everything': { ...SNAPSHOT_CONTEXTS['app-mode-all'], ...CHARTS },
  })) {
    it(`${name}: no unacknowledged errors or warnings`, () => assertNagClean(ctx));
  }

  it('one new acknowledgement: IAM5 for Resource::* on MetricChartPolicy, with the reason', () => {
    const ack = { path: 'MetricChartPolicy', id: 'AwsSolutions-IAM5[Resource::*]', reason: METRIC_DATA_REASON };
    for (const base of [{}, { appMode: 'true' }, { ...EXISTING, batching: 'true' }]) {
      const without = acknowledgements(build(base).app);
      const withCharts = acknowledgements(build({ ...base, ...CHARTS }).app);
      assert.deepEqual(withCharts.sort(byCanonical), [...without, ack].sort(byCanonical), JSON.stringify(base));
    }
    assert.match(METRIC_DATA_REASON, /^cloudwatch:GetMetricData has no resource-level permissions for CloudWatch metrics/);
  });

  it('the acknowledgement covers that policy only: the same statement elsewhere is a finding', () => {
    const { app, stack } = build(CHARTS);
    stack.functionRole.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['cloudwatch:GetMetricData'], resources: ['*'] }));
    const direct = new AwsSolutionsChecks().validateScope(app);
    assert.deepEqual(direct.violations.map((v) => v.ruleName), ['AwsSolutions-IAM5[Resource::*]']);
    assert.deepEqual(direct.violations[0].violatingResources.map((r) => r.constructPath), [`${stack.stackName}/FunctionRole/DefaultPolicy/Resource`]);
  });
});
