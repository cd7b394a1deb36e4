import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import assert from 'node:assert/strict';
import { Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../lib/build-app';
import { SlackAlarmNotifierStack } from '../lib/notifier-stack';

export const ACCOUNT = '123456789012';
export const REGION = 'eu-west-1';
export const TOPIC_A = `arn:aws:sns:${REGION}:${ACCOUNT}:team-a-alarms`;
export const TOPIC_B = `arn:aws:sns:${REGION}:${ACCOUNT}:team-b-alarms`;
export const OPERATOR_TOPIC = `arn:aws:sns:${REGION}:${ACCOUNT}:ops`;
export const SECRET_ARN = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:slack/webhook-AbC123`;
export const KEY_ARN = `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;

let tmpRoot: string | undefined;
/** A fresh temp folder, removed when the test process exits. */
export function tempDir(prefix: string): string {
  if (!tmpRoot) {
    tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'notifier-infra-test-'));
    const root = tmpRoot;
    process.on('exit', () => fs.rmSync(root, { recursive: true, force: true }));
  }
  return fs.mkdtempSync(path.join(tmpRoot, `${prefix}-`));
}

let bootstrap: string | undefined;
/** A folder with a small executable placeholder named bootstrap (no crate build). */
export function bootstrapDir(): string {
  if (!bootstrap) {
    bootstrap = tempDir('bootstrap');
    fs.writeFileSync(path.join(bootstrap, 'bootstrap'), '#!/bin/sh\necho placeholder\n', { mode: 0o755 });
  }
  return bootstrap;
}

export interface Synthesized {
  app: App;
  stack: SlackAlarmNotifierStack;
  template: Template;
  outdir: string;
}

/**
 * Builds the app as bin/app.ts does (cdk-nag included) with the given
 * context, using the placeholder bootstrap unless the context says otherwise.
 * Template.fromStack synthesizes, so any unacknowledged cdk-nag error throws.
 */
export function synth(context: Record<string, unknown> = {}, env: NodeJS.ProcessEnv = {}): Synthesized {
  const built = build(context, env);
  return { ...built, template: Template.fromStack(built.stack) };
}

/**
 * Like {@link synth} but stops before synthesis, so a test can change the stack first.
 *
 * CDK's built-in CloudFormation schema validation is off unless
 * `cfnValidation` is set: it costs several seconds per process and about half
 * a second per synth, and cfn-lint (npm run lint:cfn) checks the same ground.
 * nag.test.ts keeps it on for one configuration.
 */
export function build(
  context: Record<string, unknown> = {},
  env: NodeJS.ProcessEnv = {},
  nag = true,
  cfnValidation = false,
): Omit<Synthesized, 'template'> {
  const outdir = tempDir('cdk.out');
  const ctx: Record<string, unknown> = { ...context };
  if (!('bootstrapDir' in ctx) && !('manifestPath' in ctx)) ctx.bootstrapDir = bootstrapDir();
  for (const [k, v] of Object.entries(ctx)) if (v === undefined) delete ctx[k];
  const { app, stack } = buildApp({
    appProps: { outdir, context: ctx, builtinCloudFormationValidation: cfnValidation },
    env,
    nag,
  });
  return { app, stack, outdir };
}

/**
 * The logical ID of the one resource of `type` made by the construct with
 * this path under the stack (CDK logical IDs are the path without
 * separators plus an 8-character hash, e.g. FailureQueue4F308C52).
 */
export function logicalId(template: Template, type: string, constructPath: string): string {
  const prefix = constructPath.replace(/\/(Resource|Default)$/, '').split('/').join('');
  const re = new RegExp(`^${prefix}[0-9A-F]{8}$`);
  const found = Object.keys(template.findResources(type)).filter((id) => re.test(id));
  if (found.length !== 1) throw new Error(`expected one ${type} from ${constructPath}, found ${found.length}`);
  return found[0];
}

export type Statement = Record<string, any>;

/** Every policy statement that applies to the role: attached AWS::IAM::Policy, inline Policies, managed policies. */
export function roleStatements(template: Template, roleId: string): { statements: Statement[]; managedPolicyArns: unknown[]; inlinePolicies: unknown[] } {
  const role = template.findResources('AWS::IAM::Role')[roleId];
  if (!role) throw new Error(`no role ${roleId}`);
  const statements: Statement[] = [];
  for (const policy of Object.values(template.findResources('AWS::IAM::Policy'))) {
    const roles: unknown[] = policy.Properties.Roles ?? [];
    if (roles.some((r) => JSON.stringify(r) === JSON.stringify({ Ref: roleId }))) {
      statements.push(...policy.Properties.PolicyDocument.Statement);
    }
  }
  return {
    statements,
    managedPolicyArns: role.Properties.ManagedPolicyArns ?? [],
    inlinePolicies: role.Properties.Policies ?? [],
  };
}

/** Every statement of every identity policy in the template (roles' inline, AWS::IAM::Policy, managed policies). */
export function allIdentityStatements(template: Template): Statement[] {
  const out: Statement[] = [];
  for (const p of Object.values(template.findResources('AWS::IAM::Policy'))) out.push(...p.Properties.PolicyDocument.Statement);
  for (const p of Object.values(template.findResources('AWS::IAM::ManagedPolicy'))) out.push(...p.Properties.PolicyDocument.Statement);
  for (const r of Object.values(template.findResources('AWS::IAM::Role'))) {
    for (const p of r.Properties.Policies ?? []) out.push(...p.PolicyDocument.Statement);
  }
  return out;
}

export function asArray<T>(v: T | T[] | undefined): T[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

/** Every cdk-nag acknowledgement under `root`: the construct's path below the stack, the rule and its reason. */
export function acknowledgements(root: IConstruct): { path: string; id: string; reason: string }[] {
  const out: { path: string; id: string; reason: string }[] = [];
  for (const c of root.node.findAll()) {
    for (const m of c.node.metadata) {
      if (m.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      for (const [id, reason] of Object.entries(m.data as Record<string, string>)) {
        out.push({ path: c.node.path.split('/').slice(1).join('/'), id: id.replace(/^annotation::/i, ''), reason });
      }
    }
  }
  return out;
}

/** Violations left in the report the CDK validation framework writes during synth. */
export function reportedViolations(outdir: string): unknown[] {
  const report = JSON.parse(fs.readFileSync(path.join(outdir, 'validation-report.json'), 'utf8'));
  return report.pluginReports.flatMap((r: { violations: unknown[] }) => r.violations);
}

/**
 * cdk-nag's AwsSolutions pack finds nothing unacknowledged in the stack `context` makes:
 * run directly (errors and warnings alike), and as the plugin bin/app.ts registers (synth
 * succeeds with an empty report).
 */
export function assertNagClean(context: Record<string, unknown>): void {
  const { app, outdir } = build(context);
  const direct = new AwsSolutionsChecks().validateScope(app);
  assert.deepEqual(direct.violations, []);
  assert.equal(direct.success, true);
  assert.doesNotThrow(() => app.synth());
  assert.deepEqual(reportedViolations(outdir), []);
}

/** The sample files under test/fixtures (the tests run from dist/test). */
export const FIXTURES = path.resolve(__dirname, '..', '..', 'test', 'fixtures');

/** JSON with object keys sorted, so statements can be ordered independently of key order. */
export function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}
export const byCanonical = (a: unknown, b: unknown): number => canonical(a).localeCompare(canonical(b));

/** All statements of a role, sorted; it must have no managed or inline policies. */
export function grantsOf(template: Template, roleId: string): Statement[] {
  const { statements, managedPolicyArns, inlinePolicies } = roleStatements(template, roleId);
  assert.deepEqual(managedPolicyArns, [], `${roleId} has managed policies`);
  assert.deepEqual(inlinePolicies, [], `${roleId} has inline policies`);
  return [...statements].sort(byCanonical);
}

/** The role of the function with this logical ID. */
export function roleOf(template: Template, functionId: string): string {
  const fn = template.findResources('AWS::Lambda::Function')[functionId];
  if (!fn) throw new Error(`no function ${functionId}`);
  return fn.Properties.Role['Fn::GetAtt'][0];
}

/** The notifier function's logical ID. */
export function notifierId(template: Template): string {
  return logicalId(template, 'AWS::Lambda::Function', 'Function');
}

/** The template file `cdk synth` writes, byte for byte, for this context (cdk-nag included). */
export function templateBytes(context: Record<string, unknown> = {}): Buffer {
  const { stack, outdir } = synth(context);
  return fs.readFileSync(path.join(outdir, `${stack.stackName}.template.json`));
}

/**
 * The resources `after` adds to `before`, and those it changes (by logical ID, sorted);
 * none may be removed.
 */
export function resourceChanges(before: Template, after: Template): { added: string[]; changed: string[] } {
  const b: Record<string, unknown> = before.toJSON().Resources;
  const a: Record<string, unknown> = after.toJSON().Resources;
  assert.deepEqual(Object.keys(b).filter((id) => !(id in a)), [], 'no resource is removed');
  return {
    added: Object.keys(a).filter((id) => !(id in b)).sort(),
    changed: Object.keys(b).filter((id) => JSON.stringify(b[id]) !== JSON.stringify(a[id])).sort(),
  };
}

/**
 * Contexts whose templates, synthesized before actions and metric charts
 * existed, are kept in test/fixtures/templates/<name>.template.json. A feature
 * that is off must leave them the same byte for byte.
 */
export const SNAPSHOT_CONTEXTS: Record<string, Record<string, unknown>> = {
  defaults: {},
  'app-mode': { appMode: 'true' },
  'app-mode-all': {
    appMode: 'true', rotation: 'true', batching: 'true', routesFile: path.join(FIXTURES, 'routes.toml'),
    secretArn: SECRET_ARN, secretKmsKeyArn: KEY_ARN, exampleAlarm: 'true',
  },
};

/** The stored template of one of {@link SNAPSHOT_CONTEXTS}. */
export function snapshotBytes(name: string): Buffer {
  return fs.readFileSync(path.join(FIXTURES, 'templates', `${name}.template.json`));
}
