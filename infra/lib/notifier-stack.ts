import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  Annotations,
  Arn,
  ArnFormat,
  Aws,
  CfnOutput,
  Duration,
  Fn,
  RemovalPolicy,
  SecretValue,
  Stack,
  StackProps,
  Validations,
} from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as eventSources from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { RustFunction } from 'cargo-lambda-cdk';
import { Construct } from 'constructs';
import {
  ACTIONS_ALLOWED_USERGROUP_ENV, ACTIONS_ALLOWED_USERS_ENV, ACTIONS_ENV, ConfigError, DEFAULT_ACTIONS_CONCURRENCY,
  DEFAULT_BATCHING_WINDOW_SECONDS, DEFAULT_LOG_RETENTION_DAYS, DEFAULT_ROTATION_HOURS, METRIC_CHART_TIMEOUT_ENV, METRIC_CHARTS_ENV,
  NOTIFIER_TIMEOUT_SECONDS, NotifierSettings, SLACK_TOKEN_LIFETIME_HOURS, THREADS_TABLE_ENV,
} from './settings';
import { ROUTES_FILE_ENV, ROUTES_FILE_PATH, readRoutesFile, stageRoutesFile } from './routes';

/** Name of the binary target in the crate. */
export const BINARY_NAME = 'slack-alarm-notifier';
/** The crate's Cargo.toml: the repository root, one level above infra/. */
export const DEFAULT_MANIFEST_PATH = path.resolve(__dirname, '..', '..', '..', 'Cargo.toml');
/** The function's timeout. */
export const FUNCTION_TIMEOUT = Duration.seconds(NOTIFIER_TIMEOUT_SECONDS);

/** With batching: the most messages one invocation receives (Lambda allows more than 10 only with a batching window). */
export const BATCH_SIZE = 1000;
/** With batching and a batching window of 0: Lambda's maximum batch size without a window. */
export const BATCH_SIZE_WITHOUT_WINDOW = 10;
/** With batching: at most this many instances run at once, so they share the webhook's rate. */
export const BATCH_MAX_CONCURRENCY = 2;
/** With batching: receives of one message before SQS moves it to the dead-letter queue. */
export const BATCH_MAX_RECEIVE_COUNT = 5;
/** With batching: the queue's oldest message older than this raises the operator alarm. */
export const BATCH_MAX_MESSAGE_AGE = Duration.minutes(5);

/** With appMode: the threads table's partition key (a string). */
export const THREADS_TABLE_PARTITION_KEY = 'pk';
/** With appMode: the threads table's TTL attribute (epoch seconds, written by the function). */
export const THREADS_TABLE_TTL_ATTRIBUTE = 'expires_at';
/** With appMode: the only actions the function may call on the threads table. */
export const THREADS_TABLE_ACTIONS = ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'];
/** With appMode: why cloudwatch:GetMetricWidgetImage is allowed on "*" (the cdk-nag acknowledgement's reason). */
export const METRIC_WIDGET_IMAGE_REASON = 'cloudwatch:GetMetricWidgetImage supports no resource-level permissions (IAM allows only "*" for it). '
  + 'The function calls it to render the graph of the alarm\'s metric it attaches to the Slack thread; it is read-only and returns an image.';

/** With routesFile and a route matching on tags: why cloudwatch:ListTagsForResource is allowed on every alarm of the account and region. */
export const ALARM_TAGS_REASON = 'The routes file matches on alarm tags: the function reads the tags of the alarm a notification is about '
  + '(cloudwatch:ListTagsForResource, read-only) to pick its route. That can be any alarm that publishes to the alarm topics, '
  + 'so the resource is every alarm of this account and region (alarm:*); no other CloudWatch resource type is included.';

/** With metricCharts: why cloudwatch:GetMetricData is allowed on "*" (the cdk-nag acknowledgement's reason). */
export const METRIC_DATA_REASON = 'cloudwatch:GetMetricData has no resource-level permissions for CloudWatch metrics: the Service Authorization Reference '
  + 'lists only the optional "dataset" resource type for it, which covers OTLP metrics read with PromQL, not the metrics of alarms, so IAM allows only "*". '
  + 'The function reads the alarm\'s own metric or expressions to draw the chart in its Slack message; it is read-only.';

/** With actions: the actions function's timeout (Slack wants an answer to a click within 3 seconds). */
export const ACTIONS_FUNCTION_TIMEOUT = Duration.seconds(5);
/** With actions: how the function names the mute rules it makes (src/cloudwatch/mute.rs). */
export const MUTE_RULE_PREFIX = 'slack-mute-';
/** With actions: what the actions function may do with alarm mute rules. */
export const ALARM_MUTE_RULE_ACTIONS = ['cloudwatch:PutAlarmMuteRule', 'cloudwatch:DeleteAlarmMuteRule', 'cloudwatch:GetAlarmMuteRule'];
/** With actions: why the mute statements name every mute rule and every alarm of the account and region. */
export const ALARM_MUTE_REASON = 'Mute rules are created on demand, one per alarm, named after the alarm, and the alarms are any that publish to the alarm topics, '
  + 'so neither name is known at deployment. The resources are the mute rules the function names (alarm-mute-rule:slack-mute-*: PutAlarmMuteRule, DeleteAlarmMuteRule, GetAlarmMuteRule) '
  + 'and every alarm (alarm:*: PutAlarmMuteRule only, which IAM also checks on each alarm a rule targets) of this account and region; no other CloudWatch resource type. '
  + 'Only the actions function has them, after it has verified Slack\'s request signature and authorised the user.';
/** With rotation: the only actions the rotation function may call, on the one secret only. */
export const ROTATION_SECRET_ACTIONS = [
  'secretsmanager:GetSecretValue',
  'secretsmanager:DescribeSecret',
  'secretsmanager:PutSecretValue',
  'secretsmanager:UpdateSecretVersionStage',
];
/** With rotation and secretKmsKeyArn: what the rotation function may do with that key, through Secrets Manager only. */
export const ROTATION_KMS_ACTIONS = ['kms:Decrypt', 'kms:GenerateDataKey'];
/** The service principal that invokes the rotation function. */
export const SECRETS_MANAGER_PRINCIPAL = 'secretsmanager.amazonaws.com';

/** The schedule expression of a rotation every `hours` hours. */
export function rotationScheduleExpression(hours: number): string {
  return `rate(${hours} hours)`;
}

export interface SlackAlarmNotifierStackProps extends StackProps, NotifierSettings {}

/**
 * The slack-alarm-notifier Lambda, its secret access, the SNS topics it
 * listens to (directly, or with `batching` through an SQS queue), and the
 * operator alarms that tell when it fails.
 */
export class SlackAlarmNotifierStack extends Stack {
  public readonly function: lambda.Function;
  public readonly functionRole: iam.Role;
  public readonly logGroup: logs.LogGroup;
  /** Topics the function is subscribed to (the first receives the example alarm). */
  public readonly alarmTopics: sns.ITopic[];
  /** Topic that receives the notifier's own alarms; never one of {@link alarmTopics}. */
  public readonly operatorTopic: sns.ITopic;
  public readonly failureQueue: sqs.Queue;
  public readonly errorsAlarm: cloudwatch.Alarm;
  public readonly failureQueueAlarm: cloudwatch.Alarm;
  public readonly exampleAlarm?: cloudwatch.Alarm;
  /** With batching: the queue the alarm topics deliver to, and the function reads from. */
  public readonly alarmQueue?: sqs.Queue;
  /** With batching: where a message goes after {@link BATCH_MAX_RECEIVE_COUNT} receives without success. */
  public readonly alarmDeadLetterQueue?: sqs.Queue;
  /** With batching: the alarm on the age of {@link alarmQueue}'s oldest message. */
  public readonly alarmQueueAgeAlarm?: cloudwatch.Alarm;
  /** With batching: the alarm on messages in {@link alarmDeadLetterQueue}. */
  public readonly alarmDeadLetterQueueAlarm?: cloudwatch.Alarm;
  /** The secret the stack created, if no existing secret was given. */
  public readonly createdSecret?: secretsmanager.Secret;
  /** The only ARN the function may read with secretsmanager:GetSecretValue. */
  public readonly secretResourceArn: string;
  /** With appMode: one Slack thread per incident (env var THREADS_TABLE). Retained when the stack is deleted. */
  public readonly threadsTable?: dynamodb.Table;
  /** With appMode: the policy with the one statement on "*" (cloudwatch:GetMetricWidgetImage), kept apart so its acknowledgement covers nothing else. */
  public readonly metricGraphPolicy?: iam.Policy;
  /** With rotation: the second function, from the same code, that Secrets Manager invokes to rotate the Slack token. */
  public readonly rotationFunction?: lambda.Function;
  /** With rotation: the rotation function's own role (read, write and restage the one secret, and its logs). */
  public readonly rotationFunctionRole?: iam.Role;
  /** With rotation: the rotation function's own log group. */
  public readonly rotationLogGroup?: logs.LogGroup;
  /** With rotation: the secret's rotation schedule (L1, so that CDK adds no grants of its own). */
  public readonly rotationSchedule?: secretsmanager.CfnRotationSchedule;
  /** With rotation: the alarm on the rotation function's errors, to the operator topic. */
  public readonly rotationErrorsAlarm?: cloudwatch.Alarm;
  /** With routesFile: the layer that holds only routes.toml (read at /opt/routes.toml). */
  public readonly routesLayer?: lambda.LayerVersion;
  /** With routesFile and a route matching on tags: the policy with the one statement on alarm:* (cloudwatch:ListTagsForResource). */
  public readonly alarmTagsPolicy?: iam.Policy;
  /** With metricCharts: the policy with the one statement on "*" (cloudwatch:GetMetricData). */
  public readonly metricChartPolicy?: iam.Policy;
  /** With actions: the third function, from the same code, that serves Slack's interactivity requests (acknowledge, mute, unmute). */
  public readonly actionsFunction?: lambda.Function;
  /** With actions: the actions function's own role (the secret, the threads table, mute rules, its logs). */
  public readonly actionsFunctionRole?: iam.Role;
  /** With actions: the actions function's own log group. */
  public readonly actionsLogGroup?: logs.LogGroup;
  /** With actions: the public URL (auth NONE) Slack posts clicks to. */
  public readonly actionsFunctionUrl?: lambda.FunctionUrl;
  /** With actions: the policy with the mute-rule statements (alarm-mute-rule:slack-mute-* and alarm:*), kept apart so its acknowledgement covers nothing else. */
  public readonly alarmMutePolicy?: iam.Policy;
  /** With actions: the alarm on the actions function's errors, to the operator topic. */
  public readonly actionsErrorsAlarm?: cloudwatch.Alarm;

  private topicKey?: kms.Key;
  private notifierCode?: lambda.Code;

  /** The notifier's built code, for the functions that run the same artifact (made once: it imports the asset bucket). */
  private sharedCode(): lambda.Code {
    this.notifierCode ??= sameCodeAs(this, this.function);
    return this.notifierCode;
  }

  constructor(scope: Construct, id: string, props: SlackAlarmNotifierStackProps = {}) {
    super(scope, id, props);

    const architecture = props.architecture === 'arm64' ? lambda.Architecture.ARM_64 : lambda.Architecture.X86_64;
    if (props.rotation && !props.appMode) {
      throw new ConfigError('rotation=true needs appMode=true: only a Slack app\'s bot token can be rotated; an incoming webhook cannot.');
    }
    const rotation = props.rotation === true;
    if (props.actions && !props.appMode) {
      throw new ConfigError('actions=true needs appMode=true: the buttons act through the Slack app and record acknowledgements and mutes in the threads table.');
    }
    const actions = props.actions === true;

    // ---- Secret -----------------------------------------------------------
    const secretKey = props.secretKmsKeyArn
      ? kms.Key.fromKeyArn(this, 'SecretKmsKey', props.secretKmsKeyArn)
      : undefined;
    let secretId: string;
    if (props.secretArn) {
      // A complete ARN (settings.ts checks the 6-character suffix), so the
      // policy below names exactly this secret.
      secretId = props.secretArn;
      this.secretResourceArn = props.secretArn;
    } else if (props.secretName) {
      // A name has no suffix. Secrets Manager appends "-" and 6 random
      // characters to every secret ARN, so the one secret called NAME is
      // matched by NAME-?????? (each "?" is exactly one character). This does
      // not match other secrets whose names merely start with NAME (they have
      // more characters before the suffix), unlike a "*".
      secretId = props.secretName;
      this.secretResourceArn = this.formatArn({
        service: 'secretsmanager',
        resource: 'secret',
        resourceName: `${props.secretName}-??????`,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      });
    } else {
      this.createdSecret = new secretsmanager.Secret(this, 'WebhookSecret', {
        description: 'Slack incoming webhook for slack-alarm-notifier: JSON with SLACK_HOOK_URL (and optionally SLACK_CHANNEL). Set it with put-secret-value; the stack only writes a placeholder.',
        // A placeholder, not a credential: the real webhook is put in after
        // deployment (see the PutSecretValueCommand output). CloudFormation
        // leaves the value alone on later deployments while this stays the same.
        secretStringValue: SecretValue.unsafePlainText(JSON.stringify({ SLACK_HOOK_URL: 'REPLACE_ME' })),
        encryptionKey: secretKey,
      });
      if (!rotation) {
        // With rotation the secret has a rotation schedule (below), and SMG4 is met.
        Validations.of(this.createdSecret).acknowledge({
          id: 'AwsSolutions-SMG4',
          reason: 'The secret holds a Slack incoming-webhook URL that only Slack can issue; there is no API a rotation Lambda could call, so it is replaced by hand with put-secret-value.',
        });
      }
      secretId = this.createdSecret.secretArn;
      this.secretResourceArn = this.createdSecret.secretArn;
      new CfnOutput(this, 'WebhookSecretArn', { value: this.createdSecret.secretArn });
      // The placeholder above is the same in app mode: changing it would make
      // CloudFormation overwrite the stored value when appMode is switched on.
      // With actions, the Slack app's signing secret goes into the same JSON.
      const signing = actions ? ',"SLACK_SIGNING_SECRET":"..."' : '';
      new CfnOutput(this, 'PutSecretValueCommand', rotation ? {
        description: 'Run this (with the bot token, refresh token, client ID and client secret of your Slack app, and the channel ID) before the first scheduled rotation',
        value: Fn.join('', [
          'aws secretsmanager put-secret-value --secret-id ',
          this.createdSecret.secretArn,
          ` --secret-string '{"SLACK_BOT_TOKEN":"xoxe.xoxb-...","SLACK_CHANNEL":"C0123456789","SLACK_REFRESH_TOKEN":"xoxe-1-...","SLACK_CLIENT_ID":"...","SLACK_CLIENT_SECRET":"..."${signing}}'`,
        ]),
      } : props.appMode ? {
        description: 'Run this (with your bot token and channel ID) to store the Slack app credentials',
        value: Fn.join('', [
          'aws secretsmanager put-secret-value --secret-id ',
          this.createdSecret.secretArn,
          ` --secret-string '{"SLACK_BOT_TOKEN":"xoxb-...","SLACK_CHANNEL":"C0123456789"${signing}}'`,
        ]),
      } : {
        description: 'Run this (with your webhook URL and channel) to store the Slack webhook',
        value: Fn.join('', [
          'aws secretsmanager put-secret-value --secret-id ',
          this.createdSecret.secretArn,
          ` --secret-string '{"SLACK_HOOK_URL":"https://hooks.slack.com/services/...","SLACK_CHANNEL":"#alerts"}'`,
        ]),
      });
    }

    // ---- Log group and role ------------------------------------------------
    ({ logGroup: this.logGroup, role: this.functionRole } = this.logGroupAndRole(
      '', 'Execution role of slack-alarm-notifier', props.logRetentionDays));
    this.functionRole.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'ReadSlackWebhookSecret',
      actions: ['secretsmanager:GetSecretValue'],
      resources: [this.secretResourceArn],
    }));
    if (props.secretKmsKeyArn) {
      this.functionRole.addToPrincipalPolicy(new iam.PolicyStatement({
        sid: 'DecryptSlackWebhookSecret',
        actions: ['kms:Decrypt'],
        resources: [props.secretKmsKeyArn],
        conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${Aws.REGION}.amazonaws.com` } },
      }));
    }

    // ---- Threads table and metric graphs (app mode) --------------------------
    if (props.appMode) {
      this.threadsTable = new dynamodb.Table(this, 'ThreadsTable', {
        partitionKey: { name: THREADS_TABLE_PARTITION_KEY, type: dynamodb.AttributeType.STRING },
        billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
        timeToLiveAttribute: THREADS_TABLE_TTL_ATTRIBUTE,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        // AWS-owned key, like the SQS-managed encryption of the queues: nothing
        // but the function reads the table, so a customer-managed key would add
        // a key policy and kms grants without narrowing who can read it.
        encryption: dynamodb.TableEncryption.DEFAULT,
        // The incidents' thread references survive a stack deletion, like the log group.
        removalPolicy: RemovalPolicy.RETAIN,
      });
      this.functionRole.addToPrincipalPolicy(new iam.PolicyStatement({
        sid: 'ReadWriteSlackThreads',
        actions: THREADS_TABLE_ACTIONS,
        // The table only: no index, no stream, no wildcard.
        resources: [this.threadsTable.tableArn],
      }));
      // A policy of its own, so that the acknowledgement of its "*" resource
      // cannot cover any other statement of the role.
      this.metricGraphPolicy = new iam.Policy(this, 'MetricGraphPolicy', {
        roles: [this.functionRole],
        statements: [new iam.PolicyStatement({
          sid: 'RenderMetricGraphs',
          actions: ['cloudwatch:GetMetricWidgetImage'],
          resources: ['*'],
        })],
      });
      Validations.of(this.metricGraphPolicy).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: METRIC_WIDGET_IMAGE_REASON,
      });
    }

    // ---- Routes (optional) ----------------------------------------------------
    if (props.routesFile) {
      // Checked again here, for a stack built without the settings parser.
      const routes = readRoutesFile(props.routesFile);
      // A layer of its own rather than a file in the function's code: the code
      // asset stays the same (one binary, one asset, shared with the other
      // functions), and a change of routes only publishes a new layer version.
      this.routesLayer = new lambda.LayerVersion(this, 'RoutesLayer', {
        description: `Routes of slack-alarm-notifier (${ROUTES_FILE_PATH})`,
        code: lambda.Code.fromAsset(stageRoutesFile(routes)),
        compatibleRuntimes: [lambda.Runtime.PROVIDED_AL2023],
      });
      if (routes.matchesTags) {
        // A policy of its own, so that its acknowledgement covers nothing else.
        this.alarmTagsPolicy = new iam.Policy(this, 'AlarmTagsPolicy', {
          roles: [this.functionRole],
          statements: [new iam.PolicyStatement({
            sid: 'ReadAlarmTags',
            actions: ['cloudwatch:ListTagsForResource'],
            resources: [this.formatArn({
              service: 'cloudwatch', resource: 'alarm', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            })],
          })],
        });
        Validations.of(this.alarmTagsPolicy).acknowledge({
          id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:cloudwatch:<AWS::Region>:<AWS::AccountId>:alarm:*]',
          reason: ALARM_TAGS_REASON,
        });
      }
    }

    // ---- Metric charts (optional) ---------------------------------------------
    if (props.metricCharts) {
      // A policy of its own, so that the acknowledgement of its "*" resource
      // cannot cover any other statement of the role.
      this.metricChartPolicy = new iam.Policy(this, 'MetricChartPolicy', {
        roles: [this.functionRole],
        statements: [new iam.PolicyStatement({
          sid: 'ReadMetricDataForCharts',
          actions: ['cloudwatch:GetMetricData'],
          // The Service Authorization Reference (list_amazoncloudwatch, "Actions
          // defined by Amazon CloudWatch") gives GetMetricData no required
          // resource type; its only optional one, "dataset", is for OTLP
          // metrics read with PromQL. The metrics of alarms are reached only
          // through "*".
          resources: ['*'],
        })],
      });
      Validations.of(this.metricChartPolicy).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: METRIC_DATA_REASON,
      });
    } else if (props.metricChartTimeoutSeconds !== undefined) {
      Annotations.of(this).addWarningV2('slack-alarm-notifier:chart-timeout-without-charts',
        'metricChartTimeoutSeconds has no effect without metricCharts=true.');
    }

    // ---- Failure queue (on-failure destination) ----------------------------
    this.failureQueue = new sqs.Queue(this, 'FailureQueue', {
      encryption: sqs.QueueEncryption.KMS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.failureQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is itself the dead-letter store: it is the on-failure destination of the function and nothing consumes it automatically. An alarm fires when it holds a message.',
    });

    // ---- Function ----------------------------------------------------------
    const functionOptions: lambda.FunctionOptions = {
      description: 'Forwards CloudWatch alarm notifications from SNS to Slack',
      architecture,
      memorySize: 128,
      timeout: FUNCTION_TIMEOUT,
      role: this.functionRole,
      environment: {
        ...(props.notifierEnv ?? {}),
        SecretId: secretId,
        // METRIC_GRAPHS stays unset: the function turns graphs on by itself in app mode.
        ...(this.threadsTable ? { [THREADS_TABLE_ENV]: this.threadsTable.tableName } : {}),
        ...(this.routesLayer ? { [ROUTES_FILE_ENV]: ROUTES_FILE_PATH } : {}),
        // The notifier renders the buttons; the clicks go to the actions function.
        ...(actions ? { [ACTIONS_ENV]: 'true' } : {}),
        ...(props.metricCharts ? { [METRIC_CHARTS_ENV]: 'true' } : {}),
        ...(props.metricCharts && props.metricChartTimeoutSeconds !== undefined
          ? { [METRIC_CHART_TIMEOUT_ENV]: String(props.metricChartTimeoutSeconds) } : {}),
      },
      ...(this.routesLayer ? { layers: [this.routesLayer] } : {}),
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      applicationLogLevelV2: lambda.ApplicationLogLevel.INFO,
      retryAttempts: 2,
      maxEventAge: Duration.hours(6),
      onFailure: new destinations.SqsDestination(this.failureQueue),
    };
    // The notifier's code; with rotation the rotation function runs the same artifact.
    let code: lambda.Code | undefined;
    if (props.bootstrapDir) {
      const bootstrap = path.join(props.bootstrapDir, 'bootstrap');
      if (fs.existsSync(bootstrap) && (fs.statSync(bootstrap).mode & 0o111) === 0) {
        // Not fatal for synth, but Lambda could not start it.
        Annotations.of(this).addWarningV2('slack-alarm-notifier:bootstrap-not-executable',
          `${bootstrap} is not executable; the deployed function would fail to start. Run chmod +x on it.`);
      }
      code = lambda.Code.fromAsset(props.bootstrapDir);
      this.function = new lambda.Function(this, 'Function', {
        ...functionOptions,
        runtime: lambda.Runtime.PROVIDED_AL2023,
        handler: 'bootstrap',
        code,
      });
    } else {
      if (this.bundlingRequired && !cargoLambdaAvailable()) {
        throw new ConfigError(
          'Building the function needs "cargo lambda" on PATH (pip install cargo-lambda), and it was not found. '
          + 'Either install it, or build the binary yourself ("cargo lambda build --release" at the repository root) '
          + 'and pass -c bootstrapDir=../target/lambda/slack-alarm-notifier (or set NOTIFIER_BOOTSTRAP_DIR).',
        );
      }
      this.function = new RustFunction(this, 'Function', {
        ...functionOptions,
        runtime: 'provided.al2023',
        manifestPath: props.manifestPath ?? DEFAULT_MANIFEST_PATH,
        binaryName: BINARY_NAME,
      });
    }

    if (this.metricGraphPolicy) {
      // The role's default policy is a dependency of the function already; this
      // one too, so that the first invocation can render a graph. On the
      // function resource only, not on its subscriptions and permissions.
      this.function.node.defaultChild!.node.addDependency(this.metricGraphPolicy);
    }
    if (this.alarmTagsPolicy) {
      // Likewise, so that the first notification can be routed by its alarm's tags.
      this.function.node.defaultChild!.node.addDependency(this.alarmTagsPolicy);
    }
    if (this.metricChartPolicy) {
      // Likewise, so that the first notification can carry its chart.
      this.function.node.defaultChild!.node.addDependency(this.metricChartPolicy);
    }

    // ---- Rotation function (app mode with rotation) --------------------------
    if (rotation) {
      const own = this.logGroupAndRole(
        'Rotation', 'Execution role of the slack-alarm-notifier rotation function', props.logRetentionDays);
      this.rotationLogGroup = own.logGroup;
      this.rotationFunctionRole = own.role;
      // Written here rather than by RotationSchedule/addRotationSchedule, which
      // would add secretsmanager:GetRandomPassword on "*", and for the key
      // either kms:Encrypt/ReEncrypt*/GenerateDataKey*/Decrypt (a key of the
      // stack) or nothing at all (an imported key, as here).
      this.rotationFunctionRole.addToPrincipalPolicy(new iam.PolicyStatement({
        sid: 'RotateSlackTokenSecret',
        actions: ROTATION_SECRET_ACTIONS,
        resources: [this.secretResourceArn],
      }));
      if (props.secretKmsKeyArn) {
        this.rotationFunctionRole.addToPrincipalPolicy(new iam.PolicyStatement({
          sid: 'UseSlackTokenSecretKey',
          actions: ROTATION_KMS_ACTIONS,
          resources: [props.secretKmsKeyArn],
          conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${Aws.REGION}.amazonaws.com` } },
        }));
      }

      // The same artifact as the notifier: the binary tells a rotation request
      // ({"SecretId","ClientRequestToken","Step"}) from a notification.
      // Secrets Manager invokes it synchronously, so there is no async retry
      // or on-failure destination, and no SNS subscription.
      this.rotationFunction = new lambda.Function(this, 'RotationFunction', {
        description: 'Rotates the Slack bot token in the secret of slack-alarm-notifier (Secrets Manager rotation function)',
        runtime: lambda.Runtime.PROVIDED_AL2023,
        handler: 'bootstrap',
        code: code ?? this.sharedCode(),
        architecture,
        memorySize: 128,
        timeout: FUNCTION_TIMEOUT,
        role: this.rotationFunctionRole,
        environment: {
          ...(props.notifierEnv ?? {}),
          // The binary reads SecretId at start-up; the rotation request names the secret by its ARN.
          SecretId: secretId,
        },
        logGroup: this.rotationLogGroup,
        loggingFormat: lambda.LoggingFormat.JSON,
        applicationLogLevelV2: lambda.ApplicationLogLevel.INFO,
      });

      // Only Secrets Manager, only for this secret. Lambda compares SourceArn
      // with StringLike, so for secretName the NAME-?????? pattern of the IAM
      // statements matches that one secret here too.
      this.rotationFunction.addPermission('InvokeBySecretsManager', {
        principal: new iam.ServicePrincipal(SECRETS_MANAGER_PRINCIPAL),
        action: 'lambda:InvokeFunction',
        sourceArn: this.secretResourceArn,
        sourceAccount: props.secretArn
          ? Arn.split(props.secretArn, ArnFormat.COLON_RESOURCE_NAME).account
          : Aws.ACCOUNT_ID,
      });
      const invokePermission = this.rotationFunction.node.findChild('InvokeBySecretsManager');

      // L1: the L2 RotationSchedule adds its own, broader grants (see above),
      // an invoke permission without a source, and a resource policy on the secret.
      this.rotationSchedule = new secretsmanager.CfnRotationSchedule(this, 'RotationSchedule', {
        secretId,
        rotationLambdaArn: this.rotationFunction.functionArn,
        rotationRules: { scheduleExpression: rotationScheduleExpression(props.rotationHours ?? DEFAULT_ROTATION_HOURS) },
        // No rotation during a deployment: a created secret holds only the
        // placeholder until the token pair is put in. Secrets Manager then
        // only runs the testSecret step once to check the setup.
        rotateImmediatelyOnUpdate: false,
      });
      // Secrets Manager checks the setup when the schedule is created, so the
      // invoke permission must exist by then (the role's policy does: the
      // function, which the schedule references, depends on it).
      this.rotationSchedule.node.addDependency(invokePermission);
    } else if (props.rotationHours !== undefined) {
      Annotations.of(this).addWarningV2('slack-alarm-notifier:rotation-hours-without-rotation',
        'rotationHours has no effect without rotation=true.');
    }

    // ---- Actions function (app mode with actions) -------------------------------
    if (actions) {
      ({
        fn: this.actionsFunction, role: this.actionsFunctionRole, logGroup: this.actionsLogGroup,
        url: this.actionsFunctionUrl, mutePolicy: this.alarmMutePolicy,
      } = this.createActionsFunction(props, architecture, secretId, code ?? this.sharedCode()));
    } else if (props.actionsConcurrency !== undefined || (props.actionsAllowedUsers ?? []).length > 0 || props.actionsAllowedUsergroup !== undefined) {
      Annotations.of(this).addWarningV2('slack-alarm-notifier:actions-settings-without-actions',
        'actionsAllowedUsers, actionsAllowedUsergroup and actionsConcurrency have no effect without actions=true.');
    }

    // ---- Topics ------------------------------------------------------------
    if (props.topicArns && props.topicArns.length > 0) {
      this.alarmTopics = props.topicArns.map((arn, i) => sns.Topic.fromTopicArn(this, `AlarmTopic${i + 1}`, arn));
    } else {
      const topic = this.createTopic('AlarmTopic', 'CloudWatch alarms forwarded to Slack');
      this.alarmTopics = [topic];
      new CfnOutput(this, 'AlarmTopicArn', {
        description: 'Put this ARN in the alarm actions (and OK actions) of the alarms you want in Slack',
        value: topic.topicArn,
      });
    }
    if (props.batching) {
      // ---- Queue in front of the function (batching) ----------------------
      const windowSeconds = props.batchingWindowSeconds ?? DEFAULT_BATCHING_WINDOW_SECONDS;
      const functionTimeout = this.function.timeout ?? Duration.seconds(3); // Lambda's default
      // SQS-managed SSE: SNS can deliver to it without a key policy (the
      // AWS-managed alias/aws/sqs key of the failure queue would refuse SNS).
      this.alarmDeadLetterQueue = new sqs.Queue(this, 'AlarmDeadLetterQueue', {
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        retentionPeriod: Duration.days(14),
      });
      this.alarmQueue = new sqs.Queue(this, 'AlarmQueue', {
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        retentionPeriod: Duration.days(14),
        // Lambda's advice: at least 6 times the function timeout, plus the
        // batching window, during which received messages are already in flight.
        visibilityTimeout: Duration.seconds(6 * functionTimeout.toSeconds() + windowSeconds),
        deadLetterQueue: { queue: this.alarmDeadLetterQueue, maxReceiveCount: BATCH_MAX_RECEIVE_COUNT },
      });
      // SQS-invoked runs do not use the on-failure destination: a message the
      // function reports as failed comes back after the visibility timeout,
      // and goes to the dead-letter queue after BATCH_MAX_RECEIVE_COUNT receives.
      this.function.addEventSource(new eventSources.SqsEventSource(this.alarmQueue, {
        // Lambda takes more than 10 messages per batch only with a window of at least 1 s.
        batchSize: windowSeconds > 0 ? BATCH_SIZE : BATCH_SIZE_WITHOUT_WINDOW,
        maxBatchingWindow: Duration.seconds(windowSeconds),
        reportBatchItemFailures: true,
        maxConcurrency: BATCH_MAX_CONCURRENCY,
      }));
      // Raw message delivery stays off: each body is the SNS notification
      // (Type, MessageId, TopicArn, Message, …). The queue policy lets only
      // these topics send.
      for (const topic of this.alarmTopics) {
        topic.addSubscription(new subscriptions.SqsSubscription(this.alarmQueue, { rawMessageDelivery: false }));
      }
    } else {
      if (props.batchingWindowSeconds !== undefined) {
        Annotations.of(this).addWarningV2('slack-alarm-notifier:batching-window-without-batching',
          'batchingWindowSeconds has no effect without batching=true.');
      }
      for (const topic of this.alarmTopics) {
        topic.addSubscription(new subscriptions.LambdaSubscription(this.function));
      }
    }

    this.operatorTopic = props.operatorTopicArn
      ? sns.Topic.fromTopicArn(this, 'OperatorTopic', props.operatorTopicArn)
      : this.createTopic('OperatorTopic', 'slack-alarm-notifier is failing');
    if (props.operatorEmail) {
      this.operatorTopic.addSubscription(new subscriptions.EmailSubscription(props.operatorEmail));
    }

    // ---- Operator alarms (to the operator topic only) ----------------------
    const operatorAction = new cwActions.SnsAction(this.operatorTopic);
    this.errorsAlarm = new cloudwatch.Alarm(this, 'ErrorsAlarm', {
      alarmDescription: 'slack-alarm-notifier returned errors: alarms may be reaching Slack late or not at all. See its log group.',
      metric: this.function.metricErrors({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.failureQueueAlarm = new cloudwatch.Alarm(this, 'FailureQueueAlarm', {
      alarmDescription: 'An alarm notification could not be delivered to Slack after all retries; it is kept in the failure queue.',
      metric: this.failureQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(5),
        statistic: cloudwatch.Stats.MAXIMUM,
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const operatorAlarms = [this.errorsAlarm, this.failureQueueAlarm];
    if (this.rotationFunction) {
      this.rotationErrorsAlarm = new cloudwatch.Alarm(this, 'RotationErrorsAlarm', {
        alarmDescription: 'The rotation function of slack-alarm-notifier failed: the Slack bot token was not renewed, and it expires '
          + `${SLACK_TOKEN_LIFETIME_HOURS} hours after it was issued. See the rotation function's log group.`,
        metric: this.rotationFunction.metricErrors({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      operatorAlarms.push(this.rotationErrorsAlarm);
    }
    if (this.actionsFunction) {
      this.actionsErrorsAlarm = new cloudwatch.Alarm(this, 'ActionsErrorsAlarm', {
        alarmDescription: 'The actions function of slack-alarm-notifier failed (crashed or timed out): clicks on the Slack buttons '
          + '(acknowledge, mute, unmute) may have had no effect. See the actions function\'s log group.',
        metric: this.actionsFunction.metricErrors({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      operatorAlarms.push(this.actionsErrorsAlarm);
    }
    if (this.alarmQueue && this.alarmDeadLetterQueue) {
      this.alarmDeadLetterQueueAlarm = new cloudwatch.Alarm(this, 'AlarmDeadLetterQueueAlarm', {
        alarmDescription: `An alarm notification could not be delivered to Slack in ${BATCH_MAX_RECEIVE_COUNT} attempts from the queue; it is kept in the dead-letter queue.`,
        metric: this.alarmDeadLetterQueue.metricApproximateNumberOfMessagesVisible({
          period: Duration.minutes(5),
          statistic: cloudwatch.Stats.MAXIMUM,
        }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      this.alarmQueueAgeAlarm = new cloudwatch.Alarm(this, 'AlarmQueueAgeAlarm', {
        alarmDescription: `Alarm notifications have waited in the queue for more than ${BATCH_MAX_MESSAGE_AGE.toMinutes()} minutes: they are reaching Slack late (a storm, or a failing function).`,
        metric: this.alarmQueue.metricApproximateAgeOfOldestMessage({
          period: Duration.minutes(5),
          statistic: cloudwatch.Stats.MAXIMUM,
        }),
        threshold: BATCH_MAX_MESSAGE_AGE.toSeconds(),
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      operatorAlarms.push(this.alarmDeadLetterQueueAlarm, this.alarmQueueAgeAlarm);
    }
    for (const alarm of operatorAlarms) {
      alarm.addAlarmAction(operatorAction);
      alarm.addOkAction(operatorAction);
    }

    // ---- Example alarm (optional) ------------------------------------------
    if (props.exampleAlarm) {
      const alarmName = `${this.stackName}-example`;
      const exampleTopic = this.alarmTopics[0];
      this.exampleAlarm = new cloudwatch.Alarm(this, 'ExampleAlarm', {
        alarmName,
        alarmDescription: 'Example alarm for trying slack-alarm-notifier; set its state by hand with aws cloudwatch set-alarm-state.',
        metric: this.function.metricThrottles({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      this.exampleAlarm.addAlarmAction(new cwActions.SnsAction(exampleTopic));
      this.exampleAlarm.addOkAction(new cwActions.SnsAction(exampleTopic));
      new CfnOutput(this, 'ExampleAlarmName', { value: alarmName });
      new CfnOutput(this, 'TryItCommand', {
        description: 'Sends a test notification through the example alarm',
        value: `aws cloudwatch set-alarm-state --alarm-name ${alarmName} --state-value ALARM --state-reason "Testing slack-alarm-notifier"`,
      });
    }

    new CfnOutput(this, 'FunctionName', { value: this.function.functionName });
    new CfnOutput(this, 'FailureQueueUrl', { value: this.failureQueue.queueUrl });
    new CfnOutput(this, 'OperatorTopicArn', { value: this.operatorTopic.topicArn });
    if (this.rotationFunction) {
      new CfnOutput(this, 'RotationFunctionName', { value: this.rotationFunction.functionName });
    }
    if (this.actionsFunction && this.actionsFunctionUrl) {
      new CfnOutput(this, 'ActionsFunctionName', { value: this.actionsFunction.functionName });
      new CfnOutput(this, 'ActionsUrl', {
        description: 'Paste this URL into your Slack app\'s settings: Interactivity & Shortcuts, Request URL. '
          + 'Put the app\'s signing secret (Basic Information) into the secret as SLACK_SIGNING_SECRET.',
        value: this.actionsFunctionUrl.url,
      });
    }
    if (this.alarmQueue && this.alarmDeadLetterQueue) {
      new CfnOutput(this, 'AlarmQueueUrl', { value: this.alarmQueue.queueUrl });
      new CfnOutput(this, 'AlarmDeadLetterQueueUrl', {
        description: 'Notifications that failed from the queue; redrive them to the queue once the cause is fixed',
        value: this.alarmDeadLetterQueue.queueUrl,
      });
    }
  }

  /**
   * The actions function (`-c actions=true`): the same artifact as the
   * notifier, behind a public function URL, with its own role and log group.
   */
  private createActionsFunction(props: SlackAlarmNotifierStackProps, architecture: lambda.Architecture, secretId: string, code: lambda.Code):
    { fn: lambda.Function; role: iam.Role; logGroup: logs.LogGroup; url: lambda.FunctionUrl; mutePolicy: iam.Policy } {
    const { logGroup, role } = this.logGroupAndRole(
      'Actions', 'Execution role of the slack-alarm-notifier actions function (Slack buttons)', props.logRetentionDays);
    // The bot token updates the message, the signing secret checks the request.
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'ReadSlackAppSecret',
      actions: ['secretsmanager:GetSecretValue'],
      resources: [this.secretResourceArn],
    }));
    if (props.secretKmsKeyArn) {
      role.addToPrincipalPolicy(new iam.PolicyStatement({
        sid: 'DecryptSlackAppSecret',
        actions: ['kms:Decrypt'],
        resources: [props.secretKmsKeyArn],
        conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${Aws.REGION}.amazonaws.com` } },
      }));
    }
    // Acknowledgements and mutes are kept in the incident's item; the function
    // reads and updates items by key, it never scans or deletes.
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'ReadWriteSlackThreads',
      actions: THREADS_TABLE_ACTIONS,
      resources: [this.threadsTable!.tableArn],
    }));

    // The Service Authorization Reference for CloudWatch (list_amazoncloudwatch)
    // gives the mute rule operations the resource type "alarm-mute-rule",
    // arn:${Partition}:cloudwatch:${Region}:${Account}:alarm-mute-rule:${AlarmMuteRuleName},
    // required for PutAlarmMuteRule, DeleteAlarmMuteRule and GetAlarmMuteRule,
    // and no condition keys of CloudWatch's own (only aws:ResourceTag,
    // aws:RequestTag and aws:TagKeys). PutAlarmMuteRule also lists "alarm":
    // the PutAlarmMuteRule API reference says the caller needs the permission
    // "on two types of resources: the alarm mute rule resource itself, and
    // each alarm that the rule targets". The rules' and alarms' names are only
    // known at run time; the function names every rule slack-mute-<alarm>-<hash>
    // (src/cloudwatch/mute.rs), so the rules are those of that prefix, and the
    // alarms every alarm, in the stack's account and region. Tags on a rule would also need
    // cloudwatch:TagResource, which is not granted: the function sets none.
    const mutePolicy = new iam.Policy(this, 'AlarmMutePolicy', {
      roles: [role],
      statements: [
        new iam.PolicyStatement({
          sid: 'ManageAlarmMuteRules',
          actions: ALARM_MUTE_RULE_ACTIONS,
          resources: [this.formatArn({
            service: 'cloudwatch', resource: 'alarm-mute-rule', resourceName: `${MUTE_RULE_PREFIX}*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          })],
        }),
        new iam.PolicyStatement({
          sid: 'MuteTargetAlarms',
          actions: ['cloudwatch:PutAlarmMuteRule'],
          resources: [this.formatArn({
            service: 'cloudwatch', resource: 'alarm', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          })],
        }),
      ],
    });
    for (const resource of [`alarm-mute-rule:${MUTE_RULE_PREFIX}*`, 'alarm:*']) {
      Validations.of(mutePolicy).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:cloudwatch:<AWS::Region>:<AWS::AccountId>:${resource}]`,
        reason: ALARM_MUTE_REASON,
      });
    }

    // The same artifact as the notifier: the binary tells a function URL
    // request (payload 2.0) from a notification by the event's shape.
    const fn = new lambda.Function(this, 'ActionsFunction', {
      description: 'Serves the Slack buttons of slack-alarm-notifier (acknowledge, mute, unmute) behind a function URL',
      runtime: lambda.Runtime.PROVIDED_AL2023,
      handler: 'bootstrap',
      code,
      architecture,
      memorySize: 128,
      timeout: ACTIONS_FUNCTION_TIMEOUT,
      // Bounds what unauthenticated requests to the public URL can cost, and
      // leaves the account's other functions their concurrency.
      reservedConcurrentExecutions: props.actionsConcurrency ?? DEFAULT_ACTIONS_CONCURRENCY,
      role,
      environment: {
        ...(props.notifierEnv ?? {}),
        SecretId: secretId,
        [THREADS_TABLE_ENV]: this.threadsTable!.tableName,
        // The routes tell which channels the notifier posts to, which a click must come from.
        ...(this.routesLayer ? { [ROUTES_FILE_ENV]: ROUTES_FILE_PATH } : {}),
        [ACTIONS_ENV]: 'true',
        ...((props.actionsAllowedUsers ?? []).length > 0 ? { [ACTIONS_ALLOWED_USERS_ENV]: props.actionsAllowedUsers!.join(',') } : {}),
        ...(props.actionsAllowedUsergroup ? { [ACTIONS_ALLOWED_USERGROUP_ENV]: props.actionsAllowedUsergroup } : {}),
      },
      ...(this.routesLayer ? { layers: [this.routesLayer] } : {}),
      logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      applicationLogLevelV2: lambda.ApplicationLogLevel.INFO,
    });
    // The first click may come right after the deployment.
    fn.node.defaultChild!.node.addDependency(mutePolicy);

    // Auth NONE: Slack cannot sign AWS requests; the function checks Slack's
    // signature. CDK adds the two resource-policy statements a public URL
    // needs: lambda:InvokeFunctionUrl for "*" with FunctionUrlAuthType NONE,
    // and (required for function URLs created since October 2025)
    // lambda:InvokeFunction for "*" with InvokedViaFunctionUrl true, which
    // allows invocation through the URL only.
    const url = fn.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.NONE });
    return { fn, role, logGroup, url, mutePolicy };
  }

  /**
   * A function's own log group, and its own role that may write to that log group only:
   * instead of the AWSLambdaBasicExecutionRole managed policy (logs:CreateLogGroup and
   * PutLogEvents on "*"), so that every statement of the role names one resource.
   * Construct ids: `${prefix}LogGroup`, `${prefix}FunctionRole`.
   */
  private logGroupAndRole(prefix: string, description: string, retentionDays?: number):
    { logGroup: logs.LogGroup; role: iam.Role } {
    const logGroup = new logs.LogGroup(this, `${prefix}LogGroup`, {
      retention: (retentionDays ?? DEFAULT_LOG_RETENTION_DAYS) as logs.RetentionDays,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const role = new iam.Role(this, `${prefix}FunctionRole`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description,
    });
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'WriteOwnLogGroup',
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      // GetAtt Arn of a log group is "arn:...:log-group:NAME:*", i.e. the
      // streams of this one log group.
      resources: [logGroup.logGroupArn],
    }));
    return { logGroup, role };
  }

  private createTopic(id: string, displayName: string): sns.Topic {
    const topic = new sns.Topic(this, id, {
      displayName,
      masterKey: this.getTopicKey(),
      enforceSSL: true,
    });
    topic.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'AllowCloudWatchAlarmsOfThisAccount',
      principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['sns:Publish'],
      resources: [topic.topicArn],
      conditions: {
        StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
        ArnLike: {
          'aws:SourceArn': Arn.format({ service: 'cloudwatch', resource: 'alarm', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }, this),
        },
      },
    }));
    return topic;
  }

  /**
   * Customer-managed key for the created topics. The AWS-managed aws/sns key
   * cannot be used: CloudWatch must be allowed in the key policy to publish
   * to an encrypted topic.
   */
  private getTopicKey(): kms.Key {
    if (!this.topicKey) {
      this.topicKey = new kms.Key(this, 'TopicKey', {
        description: 'Encrypts the SNS topics of slack-alarm-notifier',
        enableKeyRotation: true,
        removalPolicy: RemovalPolicy.DESTROY,
        pendingWindow: Duration.days(7),
      });
      this.topicKey.addToResourcePolicy(new iam.PolicyStatement({
        sid: 'AllowCloudWatchToPublishToEncryptedTopics',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }));
    }
    return this.topicKey;
  }
}

/**
 * The code of `fn`, a function of this stack, as its S3 location: the asset
 * that cargo-lambda-cdk built for it, so that another function runs the same
 * artifact without a second build.
 */
function sameCodeAs(scope: Construct, fn: lambda.Function): lambda.Code {
  const cfnCode = (fn.node.defaultChild as lambda.CfnFunction).code as lambda.CfnFunction.CodeProperty;
  if (!cfnCode.s3Bucket || !cfnCode.s3Key) {
    throw new Error(`${fn.node.path} has no S3 code location to share`);
  }
  return lambda.Code.fromBucketV2(s3.Bucket.fromBucketName(scope, 'FunctionCodeBucket', cfnCode.s3Bucket), cfnCode.s3Key);
}

/** True when `cargo lambda` can run (the check cargo-lambda-cdk makes before it falls back to Docker). */
export function cargoLambdaAvailable(): boolean {
  const r = spawnSync('cargo', ['lambda', '--version'], { stdio: 'ignore' });
  return !r.error && r.status === 0;
}
