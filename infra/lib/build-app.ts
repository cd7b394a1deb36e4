import { App, AppProps, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { SlackAlarmNotifierStack } from './notifier-stack';
import { readSettings } from './settings';

export interface BuildAppOptions {
  /** Passed to the App (tests give their context here). */
  readonly appProps?: AppProps;
  /** Environment to read NOTIFIER_BOOTSTRAP_DIR from. Default: process.env. */
  readonly env?: NodeJS.ProcessEnv;
  /** Register cdk-nag's AwsSolutionsChecks. Default: true. */
  readonly nag?: boolean;
}

/** Builds the CDK app exactly as `cdk synth`/`cdk deploy` do (bin/app.ts). */
export function buildApp(options: BuildAppOptions = {}): { app: App; stack: SlackAlarmNotifierStack } {
  const app = new App(options.appProps);
  const { stackName, ...settings } = readSettings(app.node, options.env ?? process.env);
  // Env-agnostic on purpose: no account/region lookups, so synth runs offline.
  const stack = new SlackAlarmNotifierStack(app, stackName, {
    ...settings,
    description: 'slack-alarm-notifier: CloudWatch alarms from SNS to Slack',
  });
  if (options.nag ?? true) {
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  }
  return { app, stack };
}
