//! The routes file (`ROUTES_FILE`), TOML. Everything wrong in it is an error that names the
//! file, the line and column, and the key: unknown keys, a bad value, a route with nowhere to
//! send, two routes of one name. Nothing in it is a secret: webhooks go by their names in the
//! secret's `SLACK_HOOK_URLS`.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use super::{Action, Matcher, Patterns, Route, Routes, Settings, Target};
use crate::model::card::Severity;
use crate::model::AlarmState;

/// The most read of a routes file: a file of a thousand routes is far smaller.
const MAX_FILE: u64 = 1024 * 1024;

/// Why the routes file cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{column}: {problem}")]
pub(crate) struct RoutesError {
    pub(crate) file: String,
    pub(crate) line: usize,
    pub(crate) column: usize,
    pub(crate) problem: String,
}

/// One value, or a list of them.
#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            Self::One(v) => vec![v],
            Self::Many(v) => v,
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct MatchSpec {
    account: Option<OneOrMany>,
    region: Option<OneOrMany>,
    source: Option<OneOrMany>,
    severity: Option<String>,
    alarm_name: Option<OneOrMany>,
    namespace: Option<OneOrMany>,
    dimension: Option<OneOrMany>,
    tags: Option<BTreeMap<String, OneOrMany>>,
    topic: Option<OneOrMany>,
    detail_type: Option<OneOrMany>,
}

/// Where a route or the default sends, and how.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct TargetSpec {
    channel: Option<String>,
    webhook: Option<String>,
    mention: Option<String>,
    threads: Option<bool>,
    graphs: Option<bool>,
    states: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RouteSpec {
    name: String,
    #[serde(rename = "match", default)]
    matcher: MatchSpec,
    #[serde(rename = "continue", default)]
    go_on: bool,
    #[serde(default)]
    drop: bool,
    channel: Option<String>,
    webhook: Option<String>,
    mention: Option<String>,
    threads: Option<bool>,
    graphs: Option<bool>,
    states: Option<Vec<String>>,
}

impl RouteSpec {
    /// Where it sends, and how: the keys a route shares with `[default]`.
    fn target(&mut self) -> TargetSpec {
        TargetSpec {
            channel: self.channel.take(),
            webhook: self.webhook.take(),
            mention: self.mention.take(),
            threads: self.threads.take(),
            graphs: self.graphs.take(),
            states: self.states.take(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSpec {
    #[serde(default)]
    route: Vec<Spanned<RouteSpec>>,
    default: Option<Spanned<TargetSpec>>,
}

/// The problem with one part of the file, before it is placed at a line and column.
type Problem = String;

/// Reads and checks the routes file at `path`. `sources` are the registry's source names,
/// which `source` matchers must use.
pub(crate) fn load(path: &Path, sources: &[&str]) -> Result<Routes, RoutesError> {
    let at_start = |problem: String| RoutesError {
        file: path.display().to_string(),
        line: 1,
        column: 1,
        problem,
    };
    let text = read(path).map_err(at_start)?;
    parse(&path.display().to_string(), &text, sources)
}

fn read(path: &Path) -> Result<String, Problem> {
    use std::io::Read;
    let file =
        std::fs::File::open(path).map_err(|e| format!("cannot read the routes file: {e}"))?;
    let meta = file.metadata().map_err(|e| e.to_string())?;
    if !meta.is_file() || meta.len() > MAX_FILE {
        return Err(format!("not a regular file of at most {MAX_FILE} bytes"));
    }
    let mut text = String::new();
    file.take(MAX_FILE)
        .read_to_string(&mut text)
        .map_err(|e| format!("cannot read the routes file as UTF-8 text: {e}"))?;
    Ok(text)
}

/// The line and column (from 1) of byte `offset` in `text`.
fn position(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// Parses a routes file's `text`, named `file` in errors.
pub(crate) fn parse(file: &str, text: &str, sources: &[&str]) -> Result<Routes, RoutesError> {
    let error = |span: Option<Range<usize>>, problem: String| {
        let (line, column) = position(text, span.map_or(0, |s| s.start));
        RoutesError {
            file: file.to_owned(),
            line,
            column,
            problem,
        }
    };
    let spec: FileSpec =
        toml::from_str(text).map_err(|e| error(e.span(), e.message().to_owned()))?;
    let mut routes = Vec::new();
    for spanned in spec.route {
        let span = spanned.span();
        let mut route =
            route(spanned.into_inner(), sources).map_err(|p| error(Some(span.clone()), p))?;
        route.at = position(text, span.start);
        if routes.iter().any(|r: &Route| r.name == route.name) {
            return Err(error(
                Some(span),
                format!("name: a second route named {:?}", route.name),
            ));
        }
        routes.push(route);
    }
    let mut default_at = (1, 1);
    let default = match spec.default {
        None => None,
        Some(spanned) => {
            let span = spanned.span();
            default_at = position(text, span.start);
            let (target, settings) = target(spanned.into_inner())
                .map_err(|p| error(Some(span.clone()), format!("[default]: {p}")))?;
            let target = target.ok_or_else(|| {
                error(Some(span), "[default]: names no channel or webhook".into())
            })?;
            Some((target, settings))
        }
    };
    if routes.is_empty() && default.is_none() {
        return Err(error(
            None,
            "no [[route]] and no [default]: nothing to route".into(),
        ));
    }
    Ok(Routes {
        routes,
        default,
        file: file.to_owned(),
        default_at,
    })
}

fn route(mut spec: RouteSpec, sources: &[&str]) -> Result<Route, Problem> {
    let name = spec.name.trim().to_owned();
    if name.is_empty() {
        return Err("name: a route needs a name".into());
    }
    let in_route = |p: Problem| format!("route {name:?}: {p}");
    let (target, settings) = target(spec.target()).map_err(in_route)?;
    let matcher = matcher(spec.matcher, sources).map_err(in_route)?;
    let action = match (spec.drop, target) {
        (true, None) => Action::Drop,
        (true, Some(_)) => {
            return Err(in_route(
                "drop: a route that drops sends nowhere; remove channel or webhook".into(),
            ))
        }
        (false, Some(target)) => Action::Send(target, settings),
        (false, None) => {
            return Err(in_route(
                "names no channel or webhook (or drop = true)".into(),
            ))
        }
    };
    Ok(Route {
        name,
        matcher,
        action,
        go_on: spec.go_on,
        at: (1, 1),
    })
}

/// Where a target sends (`None`: nowhere named) and its settings.
fn target(spec: TargetSpec) -> Result<(Option<Target>, Settings), Problem> {
    let target = match (spec.channel, spec.webhook) {
        (Some(_), Some(_)) => return Err("channel and webhook: give one of them".into()),
        (Some(c), None) => {
            let c = c.trim().to_owned();
            crate::secret::channel_id(&c).map_err(|p| format!("channel {p}"))?;
            Some(Target::Channel(c))
        }
        (None, Some(w)) => {
            let w = w.trim().to_owned();
            if w.is_empty() {
                return Err("webhook: an empty name".into());
            }
            Some(Target::Webhook(w))
        }
        (None, None) => None,
    };
    if let Some(m) = &spec.mention {
        if !crate::model::mrkdwn::is_mention(m.trim()) {
            return Err(format!(
                "mention: expected <!here>, <!channel>, <!subteam^ID> or <@USERID>, got {m:?}"
            ));
        }
    }
    let states = spec.states.map(|s| states(&s)).transpose()?;
    Ok((
        target,
        Settings {
            mention: spec.mention.map(|m| m.trim().to_owned()),
            threads: spec.threads,
            graphs: spec.graphs,
            states,
        },
    ))
}

fn states(raw: &[String]) -> Result<Vec<AlarmState>, Problem> {
    let states = raw
        .iter()
        .map(|s| match AlarmState::parse(s) {
            AlarmState::Other(_) | AlarmState::Unknown => Err(format!(
                "states: unknown state {s:?}; use ALARM, OK or INSUFFICIENT_DATA"
            )),
            state => Ok(state),
        })
        .collect::<Result<Vec<_>, _>>()?;
    if states.is_empty() {
        return Err("states: names no state".into());
    }
    Ok(states)
}

fn severity(raw: &str) -> Result<Severity, Problem> {
    Ok(match raw.trim().to_ascii_lowercase().as_str() {
        "ok" => Severity::Ok,
        "info" => Severity::Info,
        "warning" => Severity::Warning,
        "error" => Severity::Error,
        "critical" => Severity::Critical,
        _ => {
            return Err(format!(
                "severity: expected ok, info, warning, error or critical, got {raw:?}"
            ))
        }
    })
}

/// Patterns of one matcher key: at least one, none blank.
fn patterns(key: &str, values: Option<OneOrMany>) -> Result<Option<Patterns>, Problem> {
    let Some(values) = values else {
        return Ok(None);
    };
    let values: Vec<String> = values
        .into_vec()
        .into_iter()
        .map(|v| v.trim().to_owned())
        .collect();
    if values.is_empty() || values.iter().any(String::is_empty) {
        return Err(format!("match.{key}: a blank value, or none"));
    }
    Ok(Some(values))
}

fn matcher(spec: MatchSpec, sources: &[&str]) -> Result<Matcher, Problem> {
    let source = patterns("source", spec.source)?;
    if let Some(unknown) = source.iter().flatten().find(|s| {
        !sources
            .iter()
            .any(|name| crate::deliver::glob_match(s, name))
    }) {
        return Err(format!(
            "match.source: {unknown:?} names no source; the sources are {}",
            sources.join(", ")
        ));
    }
    let dimension = patterns("dimension", spec.dimension)?
        .map(|values| {
            values
                .into_iter()
                .map(|d| match d.split_once('=') {
                    Some((n, v)) if !n.trim().is_empty() => {
                        Ok((n.trim().to_owned(), v.trim().to_owned()))
                    }
                    _ => Err(format!("match.dimension: expected NAME=VALUE, got {d:?}")),
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?;
    let tags = spec
        .tags
        .map(|tags| {
            if tags.is_empty() {
                return Err("match.tags: names no tag".to_owned());
            }
            tags.into_iter()
                .map(|(k, v)| {
                    Ok((
                        k.clone(),
                        patterns(&format!("tags.{k}"), Some(v))?.unwrap_or_default(),
                    ))
                })
                .collect::<Result<BTreeMap<_, _>, Problem>>()
        })
        .transpose()?;
    Ok(Matcher {
        account: patterns("account", spec.account)?,
        region: patterns("region", spec.region)?,
        source,
        severity: spec.severity.as_deref().map(severity).transpose()?,
        alarm_name: patterns("alarm_name", spec.alarm_name)?,
        namespace: patterns("namespace", spec.namespace)?,
        dimension,
        tags,
        topic: patterns("topic", spec.topic)?,
        detail_type: patterns("detail_type", spec.detail_type)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> String {
        parse("r.toml", text, &crate::sources::names())
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn every_error_names_the_file_the_line_the_column_and_the_key() {
        let cases = [
            (
                "[[route]]\nname = \"a\"\nchanel = \"C0AAAAAAAA\"\n",
                "r.toml:3:1: unknown field `chanel`",
            ),
            (
                "[[route]]\nname = \"a\"\nmatch = { acount = \"1\" }\nchannel = \"C0AAAAAAAA\"\n",
                "r.toml:3:11: unknown field `acount`",
            ),
            (
                "[default]\nchannel = \"C0AAAAAAAA\"\n\n[[route]]\nname = \"a\"\nchannel = \"#ops\"\n",
                "r.toml:4:1: route \"a\": channel is a channel name",
            ),
            (
                "[[route]]\nname = \"a\"\nchannel = \"C0AAAAAAAA\"\n[[route]]\nname = \"a\"\nchannel = \"C0BBBBBBBB\"\n",
                "r.toml:4:1: name: a second route named \"a\"",
            ),
            (
                "[[route]]\nname = \"a\"\nmatch = { source = \"gardduty\" }\nchannel = \"C0AAAAAAAA\"\n",
                "r.toml:1:1: route \"a\": match.source: \"gardduty\" names no source",
            ),
            (
                "[[route]]\nname = \"a\"\ndrop = true\nchannel = \"C0AAAAAAAA\"\n",
                "r.toml:1:1: route \"a\": drop: a route that drops sends nowhere",
            ),
            (
                "[[route]]\nname = \"a\"\nmatch = { alarm_name = \"x\" }\n",
                "r.toml:1:1: route \"a\": names no channel or webhook",
            ),
            (
                "[[route]]\nname = \"a\"\nchannel = \"C0AAAAAAAA\"\nmention = \"@oncall\"\n",
                "r.toml:1:1: route \"a\": mention: expected <!here>",
            ),
            (
                "[[route]]\nname = \"a\"\nchannel = \"C0AAAAAAAA\"\nstates = [\"ALRAM\"]\n",
                "r.toml:1:1: route \"a\": states: unknown state \"ALRAM\"",
            ),
            (
                "[[route]]\nname = \"a\"\nmatch = { dimension = \"InstanceId\" }\nchannel = \"C0AAAAAAAA\"\n",
                "r.toml:1:1: route \"a\": match.dimension: expected NAME=VALUE",
            ),
            (
                "[[route]]\nname = \"a\"\nmatch = { severity = \"high\" }\nchannel = \"C0AAAAAAAA\"\n",
                "r.toml:1:1: route \"a\": severity: expected ok, info, warning, error or critical",
            ),
            ("[default]\nmention = \"<!here>\"\n", "r.toml:1:1: [default]: names no channel or webhook"),
            ("# nothing\n", "r.toml:1:1: no [[route]] and no [default]"),
            ("[[route]]\nname = \"a\"\ncontinue = \"yes\"\n", "r.toml:3:12: invalid type"),
        ];
        for (text, expected) in cases {
            let got = error(text);
            assert!(
                got.starts_with(expected),
                "{text:?}\n got: {got}\nwant: {expected}"
            );
        }
    }

    #[test]
    fn a_file_that_is_too_big_or_missing_is_an_error_at_its_start() {
        let dir = std::env::temp_dir().join(format!("routes-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let big = dir.join("big.toml");
        std::fs::write(&big, vec![b'#'; MAX_FILE as usize + 1]).unwrap();
        let e = load(&big, &[]).unwrap_err();
        assert_eq!((e.line, e.column), (1, 1));
        assert!(
            e.problem.starts_with("not a regular file of at most"),
            "{e}"
        );
        let e = load(&dir.join("absent.toml"), &[]).unwrap_err();
        assert!(e.problem.starts_with("cannot read the routes file"), "{e}");
        let e = load(&dir, &[]).unwrap_err();
        assert!(e.problem.starts_with("not a regular file"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn values_are_trimmed_and_lists_or_single_values_accepted() {
        let routes = parse(
            "r.toml",
            "[[route]]\nname = \" a \"\nmatch = { account = \"1\", region = [\"eu-*\", \"us-east-1\"], tags = { team = [\"x\", \"y\"] } }\nwebhook = \" ops \"\nmention = \" <!here> \"\nthreads = false\n",
            &[],
        )
        .unwrap();
        let route = &routes.routes[0];
        assert_eq!(route.name, "a");
        assert_eq!(route.at, (1, 1));
        assert_eq!(route.matcher.account, Some(vec!["1".to_owned()]));
        assert_eq!(route.matcher.region.as_ref().unwrap().len(), 2);
        assert_eq!(route.matcher.tags.as_ref().unwrap()["team"], ["x", "y"]);
        let Action::Send(target, settings) = &route.action else {
            panic!("{route:?}")
        };
        assert_eq!(*target, Target::Webhook("ops".into()));
        assert_eq!(settings.mention.as_deref(), Some("<!here>"));
        assert_eq!(settings.threads, Some(false));
    }
}
