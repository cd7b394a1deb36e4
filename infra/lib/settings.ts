// Reads and validates the deployment settings (CDK context keys and one
// environment variable). Every key is documented in infra/README.md.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Node } from 'constructs';
import { SettingsError } from './errors';
import { ROUTES_FILE_ENV, ROUTES_FILE_KEY, ROUTES_FILE_PATH, readRoutesFile } from './routes';

export { ConfigError, SettingsError } from './errors';

/** The CPU architectures the function can be deployed for. */
export type NotifierArchitecture = 'x86_64' | 'arm64';

/** Deployment settings of the notifier stack (all optional). */
export interface NotifierSettings {
  /** `x86_64` (default) or `arm64`. */
  readonly architecture?: NotifierArchitecture;
  /**
   * A folder that holds a prebuilt executable named `bootstrap`. When set, the
   * function uses it as is and the crate is not built during synth.
   */
  readonly bootstrapDir?: string;
  /** The crate's Cargo.toml, used when `bootstrapDir` is not set. Default: the repository root's. */
  readonly manifestPath?: string;
  /** Full ARN of an existing secret (with its 6-character suffix). */
  readonly secretArn?: string;
  /** Name of an existing secret in the stack's account and region. */
  readonly secretName?: string;
  /** ARN of the customer-managed KMS key that encrypts the secret. */
  readonly secretKmsKeyArn?: string;
  /** Existing SNS topics to subscribe the function to. If empty, the stack creates one. */
  readonly topicArns?: string[];
  /** Existing SNS topic for the operator alarms. If unset, the stack creates one. */
  readonly operatorTopicArn?: string;
  /** E-mail address subscribed to the operator topic. */
  readonly operatorEmail?: string;
  /** Retention of the function's log group in days (a CloudWatch Logs retention value). Default 90. */
  readonly logRetentionDays?: number;
  /** Extra environment variables for the function. */
  readonly notifierEnv?: Record<string, string>;
  /** Create the example alarm `<stackName>-example`. */
  readonly exampleAlarm?: boolean;
  /**
   * Put an SQS queue between the alarm topics and the function, so that an
   * alarm storm is worked off in batches by at most two instances.
   */
  readonly batching?: boolean;
  /**
   * With {@link batching}: how long Lambda gathers messages before it invokes
   * the function, in seconds (0–300). Default 10
   * ({@link DEFAULT_BATCHING_WINDOW_SECONDS}).
   */
  readonly batchingWindowSeconds?: number;
  /**
   * Slack app mode: the secret holds a bot token instead of a webhook, and
   * the function keeps one Slack thread per incident in a DynamoDB table the
   * stack creates (env var THREADS_TABLE) and attaches metric graphs
   * (cloudwatch:GetMetricWidgetImage).
   */
  readonly appMode?: boolean;
  /**
   * With {@link appMode}: a second function, from the same binary, rotates the
   * Slack bot token in the secret on a Secrets Manager rotation schedule
   * (the refresh token is exchanged at Slack's oauth.v2.access).
   */
  readonly rotation?: boolean;
  /**
   * With {@link rotation}: hours between rotations, a whole number from
   * {@link MIN_ROTATION_HOURS} to {@link MAX_ROTATION_HOURS}. Default
   * {@link DEFAULT_ROTATION_HOURS}.
   */
  readonly rotationHours?: number;
  /**
   * A TOML file of routes (which channel or webhook each notification goes
   * to), as an absolute path. The stack ships it in a Lambda layer, so the
   * functions read it at /opt/routes.toml (env var ROUTES_FILE).
   */
  readonly routesFile?: string;
  /**
   * With {@link appMode}: buttons on the alarm messages (acknowledge, mute,
   * unmute), served by a third function from the same binary (the actions
   * function) behind a public Lambda function URL that Slack's interactivity
   * requests reach. The notifier gets ACTIONS=true, and no mute permission.
   */
  readonly actions?: boolean;
  /** With {@link actions}: the Slack user IDs (U…/W…) who may mute (env var ACTIONS_ALLOWED_USERS). */
  readonly actionsAllowedUsers?: string[];
  /** With {@link actions}: the Slack user group (S…) whose members may mute (env var ACTIONS_ALLOWED_USERGROUP). */
  readonly actionsAllowedUsergroup?: string;
  /**
   * With {@link actions}: the actions function's reserved concurrency, a whole
   * number from {@link MIN_ACTIONS_CONCURRENCY} to {@link MAX_ACTIONS_CONCURRENCY}.
   * Default {@link DEFAULT_ACTIONS_CONCURRENCY}.
   */
  readonly actionsConcurrency?: number;
  /**
   * The metric's chart inside the alarm message (env var METRIC_CHARTS=true),
   * drawn from cloudwatch:GetMetricData.
   */
  readonly metricCharts?: boolean;
  /**
   * With {@link metricCharts}: the chart's time budget in seconds
   * (METRIC_CHART_TIMEOUT_SECONDS), at least {@link MIN_METRIC_CHART_TIMEOUT_SECONDS}
   * and below the notifier's timeout ({@link NOTIFIER_TIMEOUT_SECONDS}).
   */
  readonly metricChartTimeoutSeconds?: number;
}

/** Context keys read by {@link readSettings}. */
export const CONTEXT_KEYS = [
  'stackName',
  'architecture',
  'bootstrapDir',
  'manifestPath',
  'secretArn',
  'secretName',
  'secretKmsKeyArn',
  'topicArns',
  'operatorTopicArn',
  'operatorEmail',
  'logRetentionDays',
  'notifierEnv',
  'exampleAlarm',
  'batching',
  'batchingWindowSeconds',
  'appMode',
  'rotation',
  'rotationHours',
  'routesFile',
  'actions',
  'actionsAllowedUsers',
  'actionsAllowedUsergroup',
  'actionsConcurrency',
  'metricCharts',
  'metricChartTimeoutSeconds',
] as const;

/** Environment variable that may name the prebuilt bootstrap folder. */
export const BOOTSTRAP_DIR_ENV = 'NOTIFIER_BOOTSTRAP_DIR';

export const DEFAULT_STACK_NAME = 'SlackAlarmNotifier';
export const DEFAULT_LOG_RETENTION_DAYS = RetentionDays.THREE_MONTHS;
export const DEFAULT_BATCHING_WINDOW_SECONDS = 10;
/** With appMode: the environment variable that names the threads table. */
export const THREADS_TABLE_ENV = 'THREADS_TABLE';
/** Lambda's limit for the maximum batching window of an SQS event source. */
export const MAX_BATCHING_WINDOW_SECONDS = 300;
/** With rotation: hours between two rotations of the Slack token when rotationHours is not set. */
export const DEFAULT_ROTATION_HOURS = 4;
/** Secrets Manager rotates a secret at most every 4 hours. */
export const MIN_ROTATION_HOURS = 4;
/**
 * A Slack bot token with token rotation expires 12 hours after it is issued,
 * and Secrets Manager rotates at some time in a one-hour window after each
 * scheduled start: with 11 hours, two rotations are at most 12 hours apart.
 */
export const MAX_ROTATION_HOURS = 11;
/** Lifetime of a Slack bot token with token rotation turned on (Slack's expires_in), in hours. */
export const SLACK_TOKEN_LIFETIME_HOURS = 12;
/** The notifier's timeout in seconds (and the rotation function's). */
export const NOTIFIER_TIMEOUT_SECONDS = 30;

/** With actions: the flag both the notifier (render the buttons) and the actions function get. */
export const ACTIONS_ENV = 'ACTIONS';
/** With actions and actionsAllowedUsers: the actions function's list of user IDs, comma-separated. */
export const ACTIONS_ALLOWED_USERS_ENV = 'ACTIONS_ALLOWED_USERS';
/** With actions and actionsAllowedUsergroup: the actions function's user group ID. */
export const ACTIONS_ALLOWED_USERGROUP_ENV = 'ACTIONS_ALLOWED_USERGROUP';
/** With actions: the actions function's reserved concurrency when actionsConcurrency is not set. */
export const DEFAULT_ACTIONS_CONCURRENCY = 5;
export const MIN_ACTIONS_CONCURRENCY = 1;
/** A bound on abuse, not a capacity: a click is one short invocation. */
export const MAX_ACTIONS_CONCURRENCY = 100;
/** With metricCharts: the notifier's flag. */
export const METRIC_CHARTS_ENV = 'METRIC_CHARTS';
/** With metricCharts and metricChartTimeoutSeconds: the chart's budget in seconds. */
export const METRIC_CHART_TIMEOUT_ENV = 'METRIC_CHART_TIMEOUT_SECONDS';
export const MIN_METRIC_CHART_TIMEOUT_SECONDS = 1;

/**
 * A Slack user ID: U (or W, on Enterprise Grid) and upper-case letters and
 * digits, e.g. U0123ABCD. Display names and e-mail addresses are not IDs.
 */
export const SLACK_USER_ID = /^[UW][A-Z0-9]{8,20}$/;
/** A Slack user group ID: S and upper-case letters and digits, e.g. S0123ABCD. */
export const SLACK_USERGROUP_ID = /^S[A-Z0-9]{8,20}$/;

const SECRET_ARN = /^arn:[a-z-]+:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}$/;
const SECRET_NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
const KMS_KEY_ARN = /^arn:[a-z-]+:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/;
const TOPIC_ARN = /^arn:[a-z-]+:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const ENV_KEY = /^[A-Za-z][A-Za-z0-9_]*$/;
// Environment variables Lambda sets itself and refuses in a function's configuration.
const LAMBDA_RESERVED_ENV = new Set([
  '_HANDLER', '_X_AMZN_TRACE_ID', 'AWS_DEFAULT_REGION', 'AWS_REGION', 'AWS_EXECUTION_ENV',
  'AWS_LAMBDA_FUNCTION_NAME', 'AWS_LAMBDA_FUNCTION_MEMORY_SIZE', 'AWS_LAMBDA_FUNCTION_VERSION',
  'AWS_LAMBDA_INITIALIZATION_TYPE', 'AWS_LAMBDA_LOG_GROUP_NAME', 'AWS_LAMBDA_LOG_STREAM_NAME',
  'AWS_ACCESS_KEY', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN',
  'AWS_LAMBDA_RUNTIME_API', 'LAMBDA_TASK_ROOT', 'LAMBDA_RUNTIME_DIR',
]);


type Getter = (key: string) => unknown;

/**
 * Reads the settings from CDK context (`-c key=value`, cdk.json or the App's
 * context) and, for the bootstrap folder only, from the environment variable
 * NOTIFIER_BOOTSTRAP_DIR (the context key wins).
 */
export function readSettings(node: Node, env: NodeJS.ProcessEnv = process.env): NotifierSettings & { stackName: string } {
  return parseSettings((key) => node.tryGetContext(key), env);
}

/** Same as {@link readSettings} but from any key lookup (used by tests). */
export function parseSettings(get: Getter, env: NodeJS.ProcessEnv = {}): NotifierSettings & { stackName: string } {
  const str = (key: string): string | undefined => {
    const v = get(key);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') throw new SettingsError(key, `expected a string, got ${JSON.stringify(v)}`);
    const t = v.trim();
    return t === '' ? undefined : t;
  };

  const stackName = str('stackName') ?? DEFAULT_STACK_NAME;
  if (!/^[A-Za-z][A-Za-z0-9-]{0,127}$/.test(stackName)) {
    throw new SettingsError('stackName', `"${stackName}" is not a valid CloudFormation stack name`);
  }

  const architecture = str('architecture') ?? 'x86_64';
  if (architecture !== 'x86_64' && architecture !== 'arm64') {
    throw new SettingsError('architecture', `"${architecture}" must be x86_64 or arm64`);
  }

  const bootstrapDirRaw = str('bootstrapDir') ?? (env[BOOTSTRAP_DIR_ENV]?.trim() || undefined);
  let bootstrapDir: string | undefined;
  if (bootstrapDirRaw !== undefined) {
    bootstrapDir = path.resolve(bootstrapDirRaw);
    const bootstrap = path.join(bootstrapDir, 'bootstrap');
    if (!fs.existsSync(bootstrap) || !fs.statSync(bootstrap).isFile()) {
      throw new SettingsError('bootstrapDir', `${bootstrap} does not exist; build it with "cargo lambda build --release" or point bootstrapDir (or ${BOOTSTRAP_DIR_ENV}) at a folder that holds an executable named bootstrap`);
    }
  }

  const manifestPath = str('manifestPath');

  const secretArn = str('secretArn');
  const secretName = str('secretName');
  if (secretArn !== undefined && secretName !== undefined) {
    throw new SettingsError('secretArn', 'give secretArn or secretName, not both');
  }
  if (secretArn !== undefined && !SECRET_ARN.test(secretArn)) {
    throw new SettingsError('secretArn', `"${secretArn}" is not a complete secret ARN; it must end with the 6-character suffix Secrets Manager adds (…:secret:NAME-AbCdEf), as shown by "aws secretsmanager describe-secret"`);
  }
  if (secretName !== undefined && (!SECRET_NAME.test(secretName) || secretName.startsWith('arn:'))) {
    throw new SettingsError('secretName', `"${secretName}" is not a secret name (use secretArn for an ARN)`);
  }

  const secretKmsKeyArn = str('secretKmsKeyArn');
  if (secretKmsKeyArn !== undefined && !KMS_KEY_ARN.test(secretKmsKeyArn)) {
    throw new SettingsError('secretKmsKeyArn', `"${secretKmsKeyArn}" must be a key ARN (arn:…:kms:REGION:ACCOUNT:key/KEY-ID), not an alias`);
  }

  const topicArns = parseList('topicArns', get('topicArns'));
  for (const arn of topicArns) checkTopicArn('topicArns', arn);
  if (new Set(topicArns).size !== topicArns.length) {
    throw new SettingsError('topicArns', 'the list contains a topic twice');
  }

  const operatorTopicArn = str('operatorTopicArn');
  if (operatorTopicArn !== undefined) {
    checkTopicArn('operatorTopicArn', operatorTopicArn);
    if (topicArns.includes(operatorTopicArn)) {
      throw new SettingsError('operatorTopicArn', 'must not be one of topicArns: a failing notifier would alarm into its own input');
    }
  }

  const operatorEmail = str('operatorEmail');
  if (operatorEmail !== undefined && !EMAIL.test(operatorEmail)) {
    throw new SettingsError('operatorEmail', `"${operatorEmail}" is not an e-mail address`);
  }

  let logRetentionDays: number = DEFAULT_LOG_RETENTION_DAYS;
  const retentionRaw = get('logRetentionDays');
  if (retentionRaw !== undefined && retentionRaw !== null && retentionRaw !== '') {
    const n = typeof retentionRaw === 'number' ? retentionRaw : Number(String(retentionRaw).trim());
    const allowed = Object.values(RetentionDays).filter((v): v is number => typeof v === 'number' && v !== RetentionDays.INFINITE);
    if (!Number.isInteger(n) || !allowed.includes(n)) {
      throw new SettingsError('logRetentionDays', `${JSON.stringify(retentionRaw)} is not a CloudWatch Logs retention; use one of ${allowed.join(', ')}`);
    }
    logRetentionDays = n;
  }

  const notifierEnv = parseEnv(get('notifierEnv'));
  const exampleAlarm = parseBool('exampleAlarm', get('exampleAlarm'));
  const batching = parseBool('batching', get('batching'));

  let batchingWindowSeconds: number | undefined;
  const windowRaw = get('batchingWindowSeconds');
  if (windowRaw !== undefined && windowRaw !== null && windowRaw !== '') {
    // A number from cdk.json, or digits from -c (so "1e2", "0x10" and "10.0" are refused).
    const n = typeof windowRaw === 'number' ? windowRaw : (typeof windowRaw === 'string' && /^\s*\d+\s*$/.test(windowRaw) ? Number(windowRaw) : NaN);
    if (!Number.isInteger(n) || n < 0 || n > MAX_BATCHING_WINDOW_SECONDS) {
      throw new SettingsError('batchingWindowSeconds', `${JSON.stringify(windowRaw)} must be a whole number of seconds from 0 to ${MAX_BATCHING_WINDOW_SECONDS}`);
    }
    batchingWindowSeconds = n;
  }

  const appMode = parseBool('appMode', get('appMode'));
  if (appMode && THREADS_TABLE_ENV in notifierEnv) {
    throw new SettingsError('notifierEnv', `${THREADS_TABLE_ENV} is set by the stack with appMode=true (the table it creates)`);
  }

  const rotation = parseBool('rotation', get('rotation'));
  if (rotation && !appMode) {
    throw new SettingsError('rotation', 'needs appMode=true: only a Slack app\'s bot token can be rotated (its refresh token is exchanged for a new pair). '
      + 'An incoming webhook URL has no refresh token and no API that renews it, so without appMode there is nothing to rotate.');
  }

  let rotationHours: number | undefined;
  const hoursRaw = get('rotationHours');
  if (hoursRaw !== undefined && hoursRaw !== null && hoursRaw !== '') {
    // A number from cdk.json, or digits from -c (so "4.5", "1e1" and "0x8" are refused).
    const n = typeof hoursRaw === 'number' ? hoursRaw : (typeof hoursRaw === 'string' && /^\s*\d+\s*$/.test(hoursRaw) ? Number(hoursRaw) : NaN);
    if (!Number.isInteger(n) || n < MIN_ROTATION_HOURS || n > MAX_ROTATION_HOURS) {
      throw new SettingsError('rotationHours', `${JSON.stringify(hoursRaw)} must be a whole number of hours from ${MIN_ROTATION_HOURS} to ${MAX_ROTATION_HOURS}: `
        + `Secrets Manager rotates a secret at most every ${MIN_ROTATION_HOURS} hours, and a rotating Slack bot token expires ${SLACK_TOKEN_LIFETIME_HOURS} hours after it is issued, `
        + 'so the next rotation (which runs within an hour of its scheduled time) must come before that');
    }
    rotationHours = n;
  }

  // Read and checked here, so that a bad file stops synth before anything is built.
  const routesFileRaw = str(ROUTES_FILE_KEY);
  const routesFile = routesFileRaw === undefined ? undefined : readRoutesFile(routesFileRaw).path;
  if (routesFile !== undefined && ROUTES_FILE_ENV in notifierEnv) {
    throw new SettingsError('notifierEnv', `${ROUTES_FILE_ENV} is set by the stack with routesFile (${ROUTES_FILE_PATH}, in the routes layer)`);
  }

  const actions = parseBool('actions', get('actions'));
  if (actions && !appMode) {
    throw new SettingsError('actions', 'needs appMode=true: the buttons act through the Slack app (its bot token updates the message, '
      + 'its signing secret authenticates the clicks), and acknowledgements and mutes are recorded in the threads table that appMode creates (THREADS_TABLE).');
  }
  const actionsAllowedUsers = parseList('actionsAllowedUsers', get('actionsAllowedUsers'));
  for (const id of actionsAllowedUsers) {
    if (!SLACK_USER_ID.test(id)) {
      throw new SettingsError('actionsAllowedUsers', `"${id}" is not a Slack user ID; give IDs like U0123ABCD (in Slack: a member's profile, "⋮", "Copy member ID"), comma-separated, not names or e-mail addresses`);
    }
  }
  if (new Set(actionsAllowedUsers).size !== actionsAllowedUsers.length) {
    throw new SettingsError('actionsAllowedUsers', 'the list contains a user twice');
  }
  const actionsAllowedUsergroup = str('actionsAllowedUsergroup');
  if (actionsAllowedUsergroup !== undefined && !SLACK_USERGROUP_ID.test(actionsAllowedUsergroup)) {
    throw new SettingsError('actionsAllowedUsergroup', `"${actionsAllowedUsergroup}" is not a Slack user group ID; give one ID like S0123ABCD (usergroups.list shows it), not the group's @handle`);
  }
  const actionsConcurrency = wholeNumber('actionsConcurrency', get('actionsConcurrency'), MIN_ACTIONS_CONCURRENCY, MAX_ACTIONS_CONCURRENCY,
    'of concurrent executions reserved for the actions function');
  if (actions) {
    for (const k of [ACTIONS_ENV, ACTIONS_ALLOWED_USERS_ENV, ACTIONS_ALLOWED_USERGROUP_ENV]) {
      if (k in notifierEnv) throw new SettingsError('notifierEnv', `${k} is set by the stack with actions=true`);
    }
  }

  const metricCharts = parseBool('metricCharts', get('metricCharts'));
  let metricChartTimeoutSeconds: number | undefined;
  const chartRaw = get('metricChartTimeoutSeconds');
  if (chartRaw !== undefined && chartRaw !== null && chartRaw !== '') {
    // A number from cdk.json, or decimal digits from -c (so "1e1", "0x2" and "Infinity" are refused).
    const n = typeof chartRaw === 'number' ? chartRaw : (typeof chartRaw === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(chartRaw) ? Number(chartRaw) : NaN);
    if (!Number.isFinite(n) || n < MIN_METRIC_CHART_TIMEOUT_SECONDS || n >= NOTIFIER_TIMEOUT_SECONDS) {
      throw new SettingsError('metricChartTimeoutSeconds', `${JSON.stringify(chartRaw)} must be a number of seconds from ${MIN_METRIC_CHART_TIMEOUT_SECONDS} and below ${NOTIFIER_TIMEOUT_SECONDS}, `
        + 'the notifier\'s timeout: the chart\'s budget is spent inside an invocation, and the message must still go out after it');
    }
    metricChartTimeoutSeconds = n;
  }
  if (metricCharts) {
    for (const k of [METRIC_CHARTS_ENV, METRIC_CHART_TIMEOUT_ENV]) {
      if (k in notifierEnv) throw new SettingsError('notifierEnv', `${k} is set by the stack with metricCharts=true`);
    }
  }

  return {
    stackName,
    architecture,
    bootstrapDir,
    manifestPath,
    secretArn,
    secretName,
    secretKmsKeyArn,
    topicArns,
    operatorTopicArn,
    operatorEmail,
    logRetentionDays,
    notifierEnv,
    exampleAlarm,
    batching,
    batchingWindowSeconds,
    appMode,
    rotation,
    rotationHours,
    routesFile,
    actions,
    actionsAllowedUsers,
    actionsAllowedUsergroup,
    actionsConcurrency,
    metricCharts,
    metricChartTimeoutSeconds,
  };
}

/** A whole number in [min, max]: a number from cdk.json, or digits from -c (so "4.5", "1e1" and "0x8" are refused). */
function wholeNumber(key: string, raw: unknown, min: number, max: number, what: string): number | undefined {
  if (raw === undefined || raw === null || raw === '') return undefined;
  const n = typeof raw === 'number' ? raw : (typeof raw === 'string' && /^\s*\d+\s*$/.test(raw) ? Number(raw) : NaN);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new SettingsError(key, `${JSON.stringify(raw)} must be a whole number ${what} from ${min} to ${max}`);
  }
  return n;
}

function checkTopicArn(key: string, arn: string): void {
  if (arn.endsWith('.fifo')) {
    throw new SettingsError(key, `${arn}: FIFO topics cannot take CloudWatch alarm actions or Lambda subscriptions`);
  }
  if (!TOPIC_ARN.test(arn)) {
    throw new SettingsError(key, `"${arn}" is not an SNS topic ARN`);
  }
}

/** A JSON array, a comma-separated string, or an array (from cdk.json). */
export function parseList(key: string, value: unknown): string[] {
  if (value === undefined || value === null) return [];
  let items: unknown[];
  if (Array.isArray(value)) {
    items = value;
  } else if (typeof value === 'string') {
    const t = value.trim();
    if (t.startsWith('[')) {
      try {
        const parsed: unknown = JSON.parse(t);
        if (!Array.isArray(parsed)) throw new Error('not an array');
        items = parsed;
      } catch (e) {
        throw new SettingsError(key, `not a JSON array of strings (${(e as Error).message})`);
      }
    } else {
      items = t.split(',');
    }
  } else {
    throw new SettingsError(key, `expected a list, got ${JSON.stringify(value)}`);
  }
  return items.map((item) => {
    if (typeof item !== 'string') throw new SettingsError(key, `${JSON.stringify(item)} is not a string`);
    return item.trim();
  }).filter((item) => item !== '');
}

function parseBool(key: string, value: unknown): boolean {
  if (value === undefined || value === null || value === '') return false;
  if (typeof value === 'boolean') return value;
  const t = String(value).trim().toLowerCase();
  if (t === 'true' || t === '1' || t === 'yes') return true;
  if (t === 'false' || t === '0' || t === 'no') return false;
  throw new SettingsError(key, `${JSON.stringify(value)} is not true or false`);
}

/** A JSON object (string or, from cdk.json, an object) of extra env vars. */
function parseEnv(value: unknown): Record<string, string> {
  if (value === undefined || value === null || value === '') return {};
  let obj: unknown = value;
  if (typeof value === 'string') {
    try {
      obj = JSON.parse(value);
    } catch (e) {
      throw new SettingsError('notifierEnv', `not a JSON object (${(e as Error).message})`);
    }
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
    throw new SettingsError('notifierEnv', 'must be a JSON object such as {"NAME":"value"}');
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (!ENV_KEY.test(k)) throw new SettingsError('notifierEnv', `"${k}" is not a valid environment variable name`);
    if (k === 'SecretId') throw new SettingsError('notifierEnv', 'SecretId is set by the stack from secretArn/secretName');
    if (LAMBDA_RESERVED_ENV.has(k)) throw new SettingsError('notifierEnv', `"${k}" is reserved by Lambda`);
    if (typeof v === 'string') out[k] = v;
    else if (typeof v === 'number' || typeof v === 'boolean') out[k] = String(v);
    else throw new SettingsError('notifierEnv', `the value of "${k}" must be a string, number or boolean`);
  }
  return out;
}
