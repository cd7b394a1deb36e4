import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { RustFunction } from 'cargo-lambda-cdk';
import { BOOTSTRAP_DIR_ENV } from '../lib/settings';
import { SECRET_ARN, bootstrapDir, logicalId, synth, tempDir } from './helpers';

function fnProps(template: Template) {
  const fns = Object.values(template.findResources('AWS::Lambda::Function'));
  assert.equal(fns.length, 1);
  return fns[0].Properties;
}

/** A Cargo.toml that is enough for cargo-lambda-cdk to read (no build happens). */
function fakeCrate(): string {
  const dir = tempDir('crate');
  fs.writeFileSync(path.join(dir, 'Cargo.toml'), '[package]\nname = "slack-alarm-notifier"\nversion = "0.1.0"\nedition = "2021"\n');
  return path.join(dir, 'Cargo.toml');
}

describe('function', () => {
  it('provided.al2023, bootstrap handler, 128 MB, 30 s, x86_64 by default', () => {
    const p = fnProps(synth().template);
    assert.equal(p.Runtime, 'provided.al2023');
    assert.equal(p.Handler, 'bootstrap');
    assert.equal(p.MemorySize, 128);
    assert.equal(p.Timeout, 30);
    assert.deepEqual(p.Architectures, ['x86_64']);
    assert.equal(p.ReservedConcurrentExecutions, undefined);
  });

  it('architecture=arm64 gives arm64; anything else is refused', () => {
    assert.deepEqual(fnProps(synth({ architecture: 'arm64' }).template).Architectures, ['arm64']);
    assert.deepEqual(fnProps(synth({ architecture: 'x86_64' }).template).Architectures, ['x86_64']);
    assert.throws(() => synth({ architecture: 'aarch64' }), /x86_64 or arm64/);
  });

  it('environment carries SecretId, plus notifierEnv', () => {
    const created = synth().template;
    assert.deepEqual(fnProps(created).Environment.Variables, {
      SecretId: { Ref: logicalId(created, 'AWS::SecretsManager::Secret', 'WebhookSecret') },
    });
    assert.deepEqual(fnProps(synth({ secretArn: SECRET_ARN }).template).Environment.Variables, { SecretId: SECRET_ARN });
    assert.deepEqual(fnProps(synth({ secretName: 'slack/webhook' }).template).Environment.Variables, { SecretId: 'slack/webhook' });
    const env = fnProps(synth({ secretArn: SECRET_ARN, notifierEnv: '{"RUST_LOG":"debug","MAX_RETRIES":3}' }).template).Environment.Variables;
    assert.deepEqual(env, { SecretId: SECRET_ARN, RUST_LOG: 'debug', MAX_RETRIES: '3' });
    assert.throws(() => synth({ notifierEnv: '{"SecretId":"x"}' }), /SecretId is set by the stack/);
    assert.throws(() => synth({ notifierEnv: '{"AWS_REGION":"x"}' }), /reserved/);
    assert.throws(() => synth({ notifierEnv: '[1]' }), /JSON object/);
  });

  it('log group: 90 days by default, logRetentionDays overrides; JSON format, INFO', () => {
    const { template } = synth();
    const logGroupId = logicalId(template, 'AWS::Logs::LogGroup', 'LogGroup');
    template.resourceCountIs('AWS::Logs::LogGroup', 1);
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 90 });
    assert.deepEqual(fnProps(template).LoggingConfig, { LogFormat: 'JSON', ApplicationLogLevel: 'INFO', LogGroup: { Ref: logGroupId } });
    synth({ logRetentionDays: '30' }).template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
    assert.throws(() => synth({ logRetentionDays: '45' }), /not a CloudWatch Logs retention/);
  });

  it('prebuilt path: bootstrapDir or NOTIFIER_BOOTSTRAP_DIR; a folder without bootstrap is refused', () => {
    const viaEnv = synth({ bootstrapDir: undefined, manifestPath: undefined }, { [BOOTSTRAP_DIR_ENV]: bootstrapDir() });
    assert.ok(!(viaEnv.stack.function instanceof RustFunction), 'prebuilt code, not RustFunction');
    assert.equal(fnProps(viaEnv.template).Handler, 'bootstrap');
    // the staged asset is the folder with the executable bootstrap
    const assets = fs.readdirSync(viaEnv.outdir).filter((f) => f.startsWith('asset.'));
    assert.equal(assets.length, 1);
    const staged = path.join(viaEnv.outdir, assets[0], 'bootstrap');
    assert.ok(fs.statSync(staged).mode & 0o111, 'bootstrap is executable');
    assert.throws(() => synth({ bootstrapDir: tempDir('empty') }), /bootstrap does not exist/);
    Annotations.fromStack(viaEnv.stack).hasNoWarning('*', Match.anyValue());
    const notExecutable = tempDir('not-executable');
    fs.writeFileSync(path.join(notExecutable, 'bootstrap'), 'x', { mode: 0o644 });
    Annotations.fromStack(synth({ bootstrapDir: notExecutable }).stack)
      .hasWarning('*', Match.stringLikeRegexp('bootstrap is not executable'));
  });

  it('default path: RustFunction from the crate (bundling skipped, so nothing is compiled)', () => {
    const { stack, template } = synth({
      manifestPath: fakeCrate(),
      architecture: 'arm64',
      'aws:cdk:bundling-stacks': [],
    });
    assert.ok(stack.function instanceof RustFunction);
    const p = fnProps(template);
    assert.equal(p.Runtime, 'provided.al2023');
    assert.equal(p.Handler, 'bootstrap');
    assert.deepEqual(p.Architectures, ['arm64']);
  });

  it('default path without cargo lambda on PATH fails with a clear message', () => {
    const savedPath = process.env.PATH;
    process.env.PATH = tempDir('empty-path');
    try {
      assert.throws(() => synth({ manifestPath: fakeCrate() }), /needs "cargo lambda" on PATH \(pip install cargo-lambda\).*bootstrapDir/s);
    } finally {
      process.env.PATH = savedPath;
    }
  });
});
