//! The matcher and the order of routes, on notifications parsed as the function parses them.

use proptest::prelude::*;
use serde_json::json;

use super::file::parse;
use super::*;

/// `message` as an SNS record brings it, with its origin.
fn notification(message: &serde_json::Value) -> Notification {
    let (body, origin) =
        crate::sources::read_sns_message(None, &message.to_string(), None).unwrap();
    Notification {
        id: Some("m-1".into()),
        body,
        origin,
    }
}

/// A metric alarm in `account`, on `namespace`, with an `InstanceId` dimension.
fn alarm(name: &str, state: &str, account: &str, namespace: &str) -> Notification {
    notification(&json!({
        "AlarmName": name,
        "NewStateValue": state,
        "NewStateReason": "r",
        "AWSAccountId": account,
        "AlarmArn": format!("arn:aws:cloudwatch:eu-west-1:{account}:alarm:{name}"),
        "Trigger": {
            "MetricName": "CPUUtilization",
            "Namespace": namespace,
            "Dimensions": [{"name": "InstanceId", "value": "i-0abc"}],
        },
    }))
}

fn guardduty(account: &str, severity: f64) -> Notification {
    notification(&json!({
        "version": "0", "id": "e-1", "source": "aws.guardduty",
        "detail-type": "GuardDuty Finding", "account": account, "region": "eu-west-1",
        "time": "2026-11-20T08:10:00Z", "resources": [],
        "detail": {"id": "f", "type": "Recon:EC2/PortProbeUnprotectedPort", "severity": severity,
                   "title": "Port probed", "accountId": account, "region": "eu-west-1"},
    }))
}

fn routes(text: &str) -> Routes {
    parse("routes.toml", text, &crate::sources::names()).unwrap()
}

/// The targets `n` goes to (with `tags` as the alarm's), and the routes that dropped it.
fn sent(routes: &Routes, n: &Notification, tags: Option<&Tags>) -> (Vec<String>, Vec<String>) {
    let (routing, _) = routes.route(&Facts::of(n, n.body.card().severity, tags));
    (
        routing
            .destinations
            .iter()
            .map(|d| d.target.key())
            .collect(),
        routing.dropped_by,
    )
}

const TEAMS: &str = r#"
[[route]]
name = "payments"
match = { tags = { team = "payments" } }
channel = "C0PAYMENTS"
mention = "<!subteam^S0PAY>"

[[route]]
name = "security"
match = { source = ["guardduty", "securityhub"], account = ["111111111111", "222222222222"] }
channel = "C0SECURITY"
continue = true

[[route]]
name = "staging"
match = { account = "333333333333", alarm_name = "staging-*" }
drop = true

[[route]]
name = "databases"
match = { namespace = "AWS/RDS" }
channel = "C0DATABASE"

[[route]]
name = "instance"
match = { dimension = "InstanceId=i-0*" }
channel = "C0INSTANCE"

[default]
channel = "C0ALLALERTS"
"#;

#[test]
fn each_matcher_takes_what_it_names_and_no_more() {
    let r = routes(TEAMS);
    let payments: Tags = [("team".to_owned(), "payments".to_owned())].into();
    let web = alarm("web-cpu", "ALARM", "444444444444", "AWS/EC2");
    assert_eq!(sent(&r, &web, Some(&payments)).0, ["channel C0PAYMENTS"]);
    // Without its tags, the alarm goes on to the dimension route.
    assert_eq!(sent(&r, &web, None).0, ["channel C0INSTANCE"]);
    let db = alarm("db-cpu", "ALARM", "444444444444", "AWS/RDS");
    assert_eq!(sent(&r, &db, None).0, ["channel C0DATABASE"]);
    let staging = alarm("staging-db", "ALARM", "333333333333", "AWS/RDS");
    assert_eq!(
        sent(&r, &staging, None),
        (vec![], vec!["staging".to_owned()])
    );
    // The same name in another account is not staging's.
    let other = alarm("staging-db", "ALARM", "444444444444", "AWS/RDS");
    assert_eq!(sent(&r, &other, None).0, ["channel C0DATABASE"]);
    let lambda = alarm("fn-errors", "ALARM", "444444444444", "AWS/Lambda");
    let lambda = Notification {
        body: match lambda.body {
            Body::Alarm(mut a) => {
                if let crate::model::alarm::AlarmKind::Metric(m) = &mut a.kind {
                    m.metric.dimensions.clear();
                }
                Body::Alarm(a)
            }
            other => other,
        },
        ..lambda
    };
    assert_eq!(sent(&r, &lambda, None).0, ["channel C0ALLALERTS"]);
}

#[test]
fn continue_fans_out_and_the_routes_below_still_choose() {
    let r = routes(TEAMS);
    // A finding in a production account: security, and (it goes on) no other route matches,
    // so the default does not take it: a notification a route took is not the default's.
    assert_eq!(
        sent(&r, &guardduty("111111111111", 8.0), None).0,
        ["channel C0SECURITY"]
    );
    // In another account, no route: the default.
    assert_eq!(
        sent(&r, &guardduty("999999999999", 8.0), None).0,
        ["channel C0ALLALERTS"]
    );
    let fan_out = routes(
        r#"
        [[route]]
        name = "a"
        channel = "C0AAAAAAAA"
        continue = true
        [[route]]
        name = "b"
        match = { source = "guardduty" }
        channel = "C0BBBBBBBB"
        [[route]]
        name = "a-again"
        channel = "C0AAAAAAAA"
        "#,
    );
    assert_eq!(
        sent(&fan_out, &guardduty("1", 8.0), None).0,
        ["channel C0AAAAAAAA", "channel C0BBBBBBBB"]
    );
    // Two routes to one channel post there once.
    let alarm = alarm("x", "ALARM", "1", "AWS/EC2");
    assert_eq!(sent(&fan_out, &alarm, None).0, ["channel C0AAAAAAAA"]);
}

#[test]
fn the_state_never_changes_the_route() {
    let r = routes(TEAMS);
    for state in ["ALARM", "OK", "INSUFFICIENT_DATA"] {
        let n = alarm("db-cpu", state, "444444444444", "AWS/RDS");
        assert_eq!(sent(&r, &n, None).0, ["channel C0DATABASE"], "{state}");
    }
}

#[test]
fn severity_takes_other_notifications_at_or_above_it_and_never_alarms() {
    let r = routes(
        r#"
        [[route]]
        name = "severe"
        match = { severity = "error" }
        channel = "C0SEVERE01"
        "#,
    );
    let high = guardduty("1", 8.0);
    let low = guardduty("1", 2.0);
    assert!(crate::deliver::route::rank(high.body.card().severity) >= 3);
    assert_eq!(sent(&r, &high, None).0, ["channel C0SEVERE01"]);
    assert_eq!(sent(&r, &low, None).0, ["secret"]);
    let alarm = alarm("x", "ALARM", "1", "AWS/EC2");
    assert_eq!(sent(&r, &alarm, None).0, ["secret"]);
}

#[test]
fn the_explanation_names_each_matcher_that_held() {
    let r = routes(TEAMS);
    let (routing, matched) = r.route(&Facts::of(
        &guardduty("222222222222", 8.0),
        Severity::Critical,
        None,
    ));
    assert_eq!(routing.destinations[0].route.as_deref(), Some("security"));
    assert_eq!(
        matched,
        [Explained {
            route: "security".into(),
            because: vec!["account 222222222222".into(), "source guardduty".into()],
        }]
    );
}

#[test]
fn the_example_file_loads_and_routes_three_teams() {
    let text = std::fs::read_to_string("examples/routes.toml").unwrap();
    let r = routes(&text);
    assert!(r.shadowed().is_empty());
    assert!(r.need_tags());
    let payments: Tags = [("team".to_owned(), "payments".to_owned())].into();
    let web = alarm("web-cpu", "ALARM", "444444444444", "AWS/EC2");
    assert_eq!(sent(&r, &web, Some(&payments)).0, ["channel C0PAYMENTS"]);
    let db = alarm("db-cpu", "ALARM", "444444444444", "AWS/RDS");
    assert_eq!(sent(&r, &db, None).0, ["channel C0PLATFORM"]);
    assert_eq!(
        sent(&r, &guardduty("111111111111", 8.0), None).0,
        ["channel C0SECURITY"]
    );
    let staging = alarm("staging-web", "ALARM", "333333333333", "AWS/EC2");
    assert_eq!(sent(&r, &staging, None).1, ["staging-noise"]);
    assert_eq!(sent(&r, &web, None).0, ["channel C0ALLALERTS"]);
}

#[test]
fn a_shadowed_route_is_named_with_the_catch_all_before_it() {
    let r = routes(
        r#"
        [[route]]
        name = "everything"
        channel = "C0ALLALERTS"
        [[route]]
        name = "never"
        match = { account = "1" }
        channel = "C0NEVERNEVER"
        "#,
    );
    assert_eq!(r.shadowed(), [("never".into(), "everything".into())]);
}

// ---- properties -------------------------------------------------------------------------

/// A notification from a small world, so that matchers often hold: its name, account,
/// namespace, state, and whether it is an alarm or a GuardDuty finding.
fn any_notification() -> impl Strategy<Value = Notification> {
    (
        prop::sample::select(vec!["web-1", "web-2", "db-1", "staging-web"]),
        prop::sample::select(vec!["111111111111", "222222222222", "333333333333"]),
        prop::sample::select(vec!["AWS/EC2", "AWS/RDS", "AWS/SQS"]),
        prop::sample::select(vec!["ALARM", "OK", "INSUFFICIENT_DATA"]),
        prop::sample::select(vec![2.0, 5.0, 8.0]),
        proptest::bool::ANY,
    )
        .prop_map(|(name, account, namespace, state, severity, is_alarm)| {
            if is_alarm {
                alarm(name, state, account, namespace)
            } else {
                guardduty(account, severity)
            }
        })
}

fn any_tags() -> impl Strategy<Value = Option<Tags>> {
    prop::option::of(
        prop::sample::select(vec!["payments", "search", "platform"])
            .prop_map(|team| [("team".to_owned(), team.to_owned())].into()),
    )
}

fn some<T: Clone + std::fmt::Debug + 'static>(
    values: Vec<T>,
) -> impl Strategy<Value = Option<Vec<T>>> {
    prop::option::weighted(
        0.3,
        prop::sample::subsequence(values.clone(), 1..=values.len()),
    )
}

fn any_matcher() -> impl Strategy<Value = Matcher> {
    let s = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    (
        some(s(&["111111111111", "2*", "333333333333"])),
        some(s(&["guardduty", "alarm"])),
        prop::option::weighted(
            0.2,
            prop::sample::select(vec![Severity::Warning, Severity::Critical]),
        ),
        some(s(&["web-*", "db-1", "staging-*"])),
        some(s(&["AWS/EC2", "AWS/R*"])),
        prop::option::weighted(
            0.2,
            prop::sample::select(vec!["payments", "search"]).prop_map(|t| {
                [("team".to_owned(), vec![t.to_owned()])]
                    .into_iter()
                    .collect()
            }),
        ),
    )
        .prop_map(
            |(account, source, severity, alarm_name, namespace, tags)| Matcher {
                account,
                source,
                severity,
                alarm_name,
                namespace,
                tags,
                ..Matcher::default()
            },
        )
}

fn any_route() -> impl Strategy<Value = Route> {
    (
        any_matcher(),
        prop::option::of(prop::sample::select(vec![
            "C0AAAAAAAA",
            "C0BBBBBBBB",
            "C0CCCCCCCC",
        ])),
        proptest::bool::ANY,
    )
        .prop_map(|(matcher, channel, go_on)| Route {
            name: String::new(),
            matcher,
            action: match channel {
                Some(c) => Action::Send(Target::Channel(c.into()), Settings::default()),
                None => Action::Drop,
            },
            go_on,
            at: (1, 1),
        })
}

fn any_routes() -> impl Strategy<Value = Routes> {
    (
        prop::collection::vec(any_route(), 0..6),
        proptest::bool::ANY,
    )
        .prop_map(|(mut routes, default)| {
            for (i, r) in routes.iter_mut().enumerate() {
                r.name = format!("r{i}");
            }
            Routes {
                routes,
                default: default
                    .then(|| (Target::Channel("C0DEFAULT0".into()), Settings::default())),
                ..Routes::none()
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn a_route_after_a_catch_all_never_changes_where_anything_goes(
        mut routes in any_routes(),
        at in 0usize..6,
        catch_all_target in prop::option::of(Just(Target::Channel("C0CATCHALL".into()))),
        after in prop::collection::vec(any_route(), 1..4),
        n in any_notification(),
        tags in any_tags(),
    ) {
        let at = at.min(routes.routes.len());
        routes.routes.insert(at, Route {
            name: "catch-all".into(),
            matcher: Matcher::default(),
            action: match catch_all_target {
                Some(t) => Action::Send(t, Settings::default()),
                None => Action::Drop,
            },
            go_on: false,
            at: (1, 1),
        });
        let mut longer = routes.clone();
        for (i, mut r) in after.into_iter().enumerate() {
            r.name = format!("after{i}");
            longer.routes.push(r);
        }
        let facts = Facts::of(&n, n.body.card().severity, tags.as_ref());
        prop_assert_eq!(routes.route(&facts), longer.route(&facts));
        let shadowed: Vec<String> = longer.shadowed().into_iter().map(|(r, _)| r).collect();
        let first = longer
            .routes
            .iter()
            .position(|r| r.matcher == Matcher::default() && !r.go_on)
            .unwrap();
        prop_assert!(first <= at);
        let expected: Vec<String> =
            longer.routes[first + 1..].iter().map(|r| r.name.clone()).collect();
        prop_assert_eq!(shadowed, expected);
    }

    #[test]
    fn a_notification_always_has_a_destination_or_an_explicit_drop(
        routes in any_routes(),
        n in any_notification(),
        tags in any_tags(),
    ) {
        let facts = Facts::of(&n, n.body.card().severity, tags.as_ref());
        let (routing, matched) = routes.route(&facts);
        prop_assert!(!routing.destinations.is_empty() || !routing.dropped_by.is_empty());
        // A drop is a route's, and only a route that matched drops or sends.
        for name in &routing.dropped_by {
            prop_assert!(matched.iter().any(|m| &m.route == name));
        }
        for d in &routing.destinations {
            match &d.route {
                Some(name) => prop_assert!(matched.iter().any(|m| &m.route == name)),
                None => prop_assert!(matched.is_empty()),
            }
        }
    }

    #[test]
    fn the_state_never_changes_where_an_alarm_goes(
        routes in any_routes(),
        name in prop::sample::select(vec!["web-1", "db-1", "staging-web"]),
        account in prop::sample::select(vec!["111111111111", "333333333333"]),
        tags in any_tags(),
    ) {
        let go = |state: &str| {
            let n = alarm(name, state, account, "AWS/RDS");
            routes.route(&Facts::of(&n, n.body.card().severity, tags.as_ref())).0
        };
        prop_assert_eq!(go("ALARM"), go("OK"));
        prop_assert_eq!(go("ALARM"), go("INSUFFICIENT_DATA"));
    }
}

#[test]
fn the_readme_names_every_source_a_route_can_match() {
    let readme = std::fs::read_to_string("README.md").unwrap();
    let row = readme
        .lines()
        .find(|l| l.starts_with("| `source` |"))
        .expect("the README's matcher table has a source row");
    let named: Vec<&str> = row.split('`').skip(3).step_by(2).collect();
    let mut sources = crate::sources::names();
    sources.sort_unstable();
    let mut listed = named.clone();
    listed.sort_unstable();
    assert_eq!(listed, sources, "{row}");
}

#[test]
fn the_infra_apps_example_files_load_as_the_function_loads_them() {
    for path in [
        "infra/test/fixtures/routes.toml",
        "infra/test/fixtures/routes-no-tags.toml",
    ] {
        let text = std::fs::read_to_string(path).unwrap();
        let routes = parse(path, &text, &crate::sources::names()).unwrap_or_else(|e| panic!("{e}"));
        assert!(routes.default.is_some(), "{path}");
    }
}

#[test]
fn of_two_routes_to_one_channel_the_first_whose_states_take_it_sends_it() {
    let r = routes(
        r#"
        [[route]]
        name = "page-on-alarm"
        match = { namespace = "AWS/RDS" }
        channel = "C0DATABASE"
        states = ["ALARM"]
        mention = "<!here>"
        continue = true
        [[route]]
        name = "everything"
        channel = "C0DATABASE"
        "#,
    );
    let go = |state: &str| {
        let n = alarm("db-cpu", state, "1", "AWS/RDS");
        let (routing, _) = r.route(&Facts::of(&n, n.body.card().severity, None));
        let names: Vec<String> = routing
            .destinations
            .iter()
            .map(|d| d.route.clone().unwrap_or_default())
            .collect();
        names
    };
    assert_eq!(go("ALARM"), ["page-on-alarm"]);
    assert_eq!(go("OK"), ["everything"]);
}
