// The routes file (-c routesFile=…): read and checked at synth, then shipped
// to the functions in a Lambda layer of its own. See infra/README.md, "Routes".
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse, TomlError } from 'smol-toml';
import { SettingsError } from './errors';

/** The context key that names the routes file. */
export const ROUTES_FILE_KEY = 'routesFile';
/** The environment variable that tells the functions where the routes file is. */
export const ROUTES_FILE_ENV = 'ROUTES_FILE';
/** The file's name inside the routes layer. */
export const ROUTES_FILE_NAME = 'routes.toml';
/** Lambda extracts a layer's files under /opt, so this is where the functions read it. */
export const ROUTES_FILE_PATH = `/opt/${ROUTES_FILE_NAME}`;

/** What synth needs to know of a routes file. */
export interface RoutesFile {
  /** Absolute path of the file given in routesFile. */
  readonly path: string;
  /** The file's bytes, as read (shipped unchanged). */
  readonly content: Buffer;
  /** Number of `[[route]]` tables. */
  readonly routeCount: number;
  /** Whether there is a `[default]` table. */
  readonly hasDefault: boolean;
  /**
   * Whether some route's `match` has a `tags` key: the function then reads
   * the alarm's tags (cloudwatch:ListTagsForResource).
   */
  readonly matchesTags: boolean;
}

function isTable(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

/**
 * Reads and checks the routes file: it exists, is a TOML document, and has a
 * non-empty `route` array of tables or a `default` table; each route's `match`,
 * if present, is a table. What the tables hold (matcher keys, channel or
 * webhook) is left to the function, which checks the file when it starts.
 * Throws a {@link SettingsError} naming routesFile and the file.
 */
export function readRoutesFile(file: string): RoutesFile {
  const abs = path.resolve(file);
  const fail = (why: string): never => {
    throw new SettingsError(ROUTES_FILE_KEY, `${abs}: ${why}`);
  };
  let stat: fs.Stats;
  try {
    stat = fs.statSync(abs);
  } catch {
    return fail('no such file');
  }
  if (!stat.isFile()) fail('not a file');
  let content: Buffer;
  try {
    content = fs.readFileSync(abs);
  } catch (e) {
    return fail(`cannot be read (${(e as Error).message})`);
  }
  let doc: Record<string, unknown>;
  try {
    doc = parse(content.toString('utf8'));
  } catch (e) {
    if (e instanceof TomlError) return fail(`not a TOML document: ${e.message.replace(/\s+$/, '')}`);
    throw e;
  }
  const routes = doc.route;
  const dflt = doc.default;
  if (routes !== undefined) {
    if (!Array.isArray(routes) || !routes.every(isTable)) fail('"route" must be an array of tables ([[route]])');
  }
  if (dflt !== undefined && !isTable(dflt)) fail('"default" must be a table ([default])');
  const routeList = (routes ?? []) as Record<string, unknown>[];
  if (routeList.length === 0 && dflt === undefined) {
    fail('it has no [[route]] and no [default] table, so it would route nothing');
  }
  routeList.forEach((r, i) => {
    if (r.match !== undefined && !isTable(r.match)) {
      fail(`the "match" of route ${i + 1}${typeof r.name === 'string' ? ` ("${r.name}")` : ''} must be a table, e.g. match = { source = ["guardduty"] }`);
    }
  });
  return {
    path: abs,
    content,
    routeCount: routeList.length,
    hasDefault: dflt !== undefined,
    matchesTags: routeList.some((r) => isTable(r.match) && 'tags' in r.match),
  };
}

let stagingRoot: string | undefined;
/**
 * A folder holding only `routes.toml` (the routes file's bytes, readable by
 * all), the source of the routes layer. The file keeps that name whatever the
 * name given in routesFile. The folder is removed when the process exits (CDK
 * copies it into the cloud assembly when the layer is created).
 */
export function stageRoutesFile(routes: RoutesFile): string {
  if (!stagingRoot) {
    stagingRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'notifier-routes-'));
    const root = stagingRoot;
    process.on('exit', () => fs.rmSync(root, { recursive: true, force: true }));
  }
  const dir = fs.mkdtempSync(path.join(stagingRoot, 'layer-'));
  const target = path.join(dir, ROUTES_FILE_NAME);
  fs.writeFileSync(target, routes.content);
  // The functions run as an unprivileged user: a file that is 0600 where it
  // was written would be unreadable in /opt.
  fs.chmodSync(target, 0o644);
  return dir;
}
