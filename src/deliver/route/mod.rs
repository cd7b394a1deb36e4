//! Where each notification goes: the routes of `ROUTES_FILE` ([`file`]), tried in order.
//! The first route whose matchers all hold takes the notification, unless it says `continue`,
//! and then the routes after it are tried too; one that says `drop` posts it nowhere. A
//! notification no route takes goes to the default: the file's `[default]`, else the
//! secret's own channel or webhook. Pure: the alarm's tags are looked up by the caller.
//!
//! A route's matchers never look at an alarm's state, so an alarm's OK goes where its ALARM
//! went, and its thread follows it.

pub(crate) mod file;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use crate::deliver::glob_match;
use crate::model::card::Severity;
use crate::model::{AlarmState, Body, Notification};
use crate::render::RenderOptions;
pub(crate) use crate::slack::messenger::Target;

/// How a destination takes its notifications: each setting `None` leaves the global one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Settings {
    /// Added to ALARM and to error or critical notifications.
    pub(crate) mention: Option<String>,
    pub(crate) threads: Option<bool>,
    pub(crate) graphs: Option<bool>,
    /// The alarm states posted, as `NOTIFY_STATES`.
    pub(crate) states: Option<Vec<AlarmState>>,
}

/// One destination of a notification: the route that sent it there (`None`: the default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Destination {
    pub(crate) route: Option<String>,
    pub(crate) target: Target,
    pub(crate) settings: Settings,
}

impl Destination {
    /// The destination without routes: the secret's own, with the global settings.
    pub(crate) fn secret() -> Self {
        Self {
            route: None,
            target: Target::Secret,
            settings: Settings::default(),
        }
    }

    /// The route's name, or `default`, for logs.
    pub(crate) fn route_name(&self) -> &str {
        self.route.as_deref().unwrap_or("default")
    }

    /// Whether its route's `states` let `n` through (only alarms have a state).
    pub(crate) fn takes(&self, n: &Notification) -> bool {
        match (&n.body, &self.settings.states) {
            (Body::Alarm(a), Some(states)) => states.contains(&a.state),
            _ => true,
        }
    }

    /// How its messages render: its route's mention (on ALARM, error and critical), else the
    /// `global` options (the mention on ALARM).
    pub(crate) fn render_options(&self, global: &RenderOptions) -> RenderOptions {
        match &self.settings.mention {
            Some(mention) => RenderOptions {
                mention: Some(mention.clone()),
                mention_severe: true,
            },
            None => global.clone(),
        }
    }
}

/// What routing made of a notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Routing {
    pub(crate) destinations: Vec<Destination>,
    /// Routes that took it to post it nowhere.
    pub(crate) dropped_by: Vec<String>,
}

/// What a route does with what it takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Action {
    Send(Target, Settings),
    Drop,
}

/// Values of one matcher: any of them may match (`*` and `?` are wildcards).
pub(crate) type Patterns = Vec<String>;

/// A route's matchers; every one given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Matcher {
    pub(crate) account: Option<Patterns>,
    pub(crate) region: Option<Patterns>,
    pub(crate) source: Option<Patterns>,
    /// The least severity, of notifications other than alarm state changes.
    pub(crate) severity: Option<Severity>,
    pub(crate) alarm_name: Option<Patterns>,
    pub(crate) namespace: Option<Patterns>,
    /// `(name, value)` patterns of a metric dimension.
    pub(crate) dimension: Option<Vec<(String, String)>>,
    /// Each tag key with the values it may have.
    pub(crate) tags: Option<BTreeMap<String, Patterns>>,
    pub(crate) topic: Option<Patterns>,
    pub(crate) detail_type: Option<Patterns>,
}

/// One `[[route]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Route {
    pub(crate) name: String,
    pub(crate) matcher: Matcher,
    pub(crate) action: Action,
    /// Try the routes after this one too.
    pub(crate) go_on: bool,
    /// Its line and column in the file, for errors found after loading.
    pub(crate) at: (usize, usize),
}

/// The routes, in order, and where what none takes goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Routes {
    pub(crate) routes: Vec<Route>,
    /// `[default]`: `None` sends to the secret's own destination.
    pub(crate) default: Option<(Target, Settings)>,
    /// The file they came from, and where `[default]` is in it.
    pub(crate) file: String,
    pub(crate) default_at: (usize, usize),
}

pub(crate) use crate::cloudwatch::tags::Tags;

/// What the matchers look at in a notification.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Facts<'a> {
    pub(crate) source: &'static str,
    pub(crate) account: Option<&'a str>,
    pub(crate) region: Option<&'a str>,
    /// The card's severity; `None` for an alarm state change.
    pub(crate) severity: Option<Severity>,
    pub(crate) notification: &'a Notification,
    /// The alarm's tags, when a route needs them and they could be read.
    pub(crate) tags: Option<&'a Tags>,
}

impl<'a> Facts<'a> {
    /// The facts of `n`, whose card has `severity`, with the alarm's `tags` if known.
    pub(crate) fn of(n: &'a Notification, severity: Severity, tags: Option<&'a Tags>) -> Self {
        let (source, _) = n.body.describe();
        let (account, region, severity) = match &n.body {
            Body::Alarm(a) => (a.account.as_deref(), a.region.as_deref(), None),
            Body::Other(_) => (None, None, Some(severity)),
        };
        Self {
            source,
            account: account.or(n.origin.account.as_deref()),
            region: region.or(n.origin.region.as_deref()),
            severity,
            notification: n,
            tags,
        }
    }
}

/// How bad, from routine to critical, for `severity` matchers.
pub(crate) fn rank(severity: Severity) -> u8 {
    match severity {
        Severity::Ok => 0,
        Severity::Info => 1,
        Severity::Warning => 2,
        Severity::Error => 3,
        Severity::Critical => 4,
    }
}

fn any(patterns: &[String], value: Option<&str>) -> bool {
    value.is_some_and(|v| patterns.iter().any(|p| glob_match(p, v)))
}

/// Each matcher that holds, as `key value` (for `render --explain`); `None` when one does not.
fn reasons(m: &Matcher, f: &Facts<'_>) -> Option<Vec<String>> {
    let alarm = match &f.notification.body {
        Body::Alarm(a) => Some(a.as_ref()),
        Body::Other(_) => None,
    };
    let origin = &f.notification.origin;
    let mut why = Vec::new();
    let mut check = |key: &str, patterns: &Option<Patterns>, value: Option<&str>| {
        let Some(patterns) = patterns else {
            return true;
        };
        let held = any(patterns, value);
        if held {
            why.push(format!("{key} {}", value.unwrap_or_default()));
        }
        held
    };
    let held = check("account", &m.account, f.account)
        && check("region", &m.region, f.region)
        && check("source", &m.source, Some(f.source))
        && check("alarm_name", &m.alarm_name, alarm.map(|a| a.name.as_str()))
        && check("topic", &m.topic, origin.topic.as_deref())
        && check("detail_type", &m.detail_type, origin.detail_type.as_deref());
    if !held {
        return None;
    }
    if let Some(least) = m.severity {
        let severity = f.severity.filter(|s| rank(*s) >= rank(least))?;
        why.push(format!("severity {severity:?}"));
    }
    if let Some(patterns) = &m.namespace {
        let found = alarm
            .into_iter()
            .flat_map(|a| a.metrics())
            .filter_map(|metric| metric.namespace.as_deref())
            .find(|ns| any(patterns, Some(ns)))?;
        why.push(format!("namespace {found}"));
    }
    if let Some(wanted) = &m.dimension {
        let found = alarm
            .into_iter()
            .flat_map(|a| a.metrics())
            .flat_map(|metric| metric.dimensions.iter())
            .find(|(name, value)| {
                wanted
                    .iter()
                    .any(|(n, v)| glob_match(n, name) && glob_match(v, value))
            })?;
        why.push(format!("dimension {}={}", found.0, found.1));
    }
    if let Some(wanted) = &m.tags {
        let tags = f.tags?;
        for (key, patterns) in wanted {
            let value = tags.get(key).map(String::as_str);
            if !any(patterns, value) {
                return None;
            }
            why.push(format!("tag {key}={}", value.unwrap_or_default()));
        }
    }
    Some(why)
}

/// One route's verdict on a notification, for `render --explain`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Explained {
    pub(crate) route: String,
    /// The matchers that held (empty: the route matches everything).
    pub(crate) because: Vec<String>,
}

impl Routes {
    /// No routes: everything to the secret's own destination.
    pub(crate) fn none() -> Self {
        Self {
            routes: Vec::new(),
            default: None,
            file: String::new(),
            default_at: (1, 1),
        }
    }

    /// Whether there are any: a file was given.
    pub(crate) fn any(&self) -> bool {
        !self.routes.is_empty() || self.default.is_some()
    }

    /// Each place a route or the default sends to, with where it is named: the route's name
    /// (`None`: the default) and its line and column.
    pub(crate) fn places(&self) -> Vec<(Option<&str>, &Target, (usize, usize))> {
        self.routes
            .iter()
            .filter_map(|r| match &r.action {
                Action::Send(target, _) => Some((Some(r.name.as_str()), target, r.at)),
                Action::Drop => None,
            })
            .chain(
                self.default
                    .as_ref()
                    .map(|(t, _)| (None, t, self.default_at)),
            )
            .collect()
    }

    /// An error found after loading, at `at` in the file.
    pub(crate) fn error_at(&self, at: (usize, usize), problem: String) -> file::RoutesError {
        file::RoutesError {
            file: self.file.clone(),
            line: at.0,
            column: at.1,
            problem,
        }
    }

    /// Whether a route matches on the alarm's tags, which then have to be looked up.
    pub(crate) fn need_tags(&self) -> bool {
        self.routes.iter().any(|r| r.matcher.tags.is_some())
    }

    /// Where the notification with `facts` goes, and the routes that matched it, in order.
    pub(crate) fn route(&self, facts: &Facts<'_>) -> (Routing, Vec<Explained>) {
        let mut routing = Routing {
            destinations: Vec::new(),
            dropped_by: Vec::new(),
        };
        let mut matched = Vec::new();
        for route in &self.routes {
            let Some(because) = reasons(&route.matcher, facts) else {
                continue;
            };
            matched.push(Explained {
                route: route.name.clone(),
                because,
            });
            match &route.action {
                Action::Drop => routing.dropped_by.push(route.name.clone()),
                Action::Send(target, settings) => {
                    let destination = Destination {
                        route: Some(route.name.clone()),
                        target: target.clone(),
                        settings: settings.clone(),
                    };
                    // Two routes to one place post once there, as the first whose states
                    // take the notification says (the first, if none does).
                    let n = facts.notification;
                    match routing
                        .destinations
                        .iter_mut()
                        .find(|d| d.target == *target)
                    {
                        None => routing.destinations.push(destination),
                        Some(earlier) if !earlier.takes(n) && destination.takes(n) => {
                            *earlier = destination;
                        }
                        Some(_) => {}
                    }
                }
            }
            if !route.go_on {
                break;
            }
        }
        if matched.is_empty() {
            routing.destinations.push(match &self.default {
                Some((target, settings)) => Destination {
                    route: None,
                    target: target.clone(),
                    settings: settings.clone(),
                },
                None => Destination::secret(),
            });
        }
        (routing, matched)
    }

    /// Routes no notification can reach: each after a route that matches everything and does
    /// not go on, with that route's name.
    pub(crate) fn shadowed(&self) -> Vec<(String, String)> {
        let catch_all = self
            .routes
            .iter()
            .position(|r| r.matcher == Matcher::default() && !r.go_on);
        let Some(at) = catch_all else {
            return Vec::new();
        };
        self.routes[at + 1..]
            .iter()
            .map(|r| (r.name.clone(), self.routes[at].name.clone()))
            .collect()
    }

    /// Every target a route or the default names.
    pub(crate) fn targets(&self) -> Vec<&Target> {
        let mut targets: Vec<&Target> = self
            .routes
            .iter()
            .filter_map(|r| match &r.action {
                Action::Send(target, _) => Some(target),
                Action::Drop => None,
            })
            .chain(self.default.as_ref().map(|(t, _)| t))
            .collect();
        targets.sort();
        targets.dedup();
        targets
    }
}
