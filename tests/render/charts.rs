//! Native charts: an alarm's payload with the chart drawn from a recorded `GetMetricData`
//! answer (`tests/metric-data/`), as `render --metric-data` prints it. Every chart keeps the
//! limits of Slack's data visualization block.

use serde_json::Value;
use slack_alarm_notifier::{check_limits, render_event_with_metric_data, RenderOptions};

fn file(path: &str) -> String {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The payload of `event` (its one alarm) with its chart from `data`.
fn payload_with(event: &str, data: &str) -> Value {
    let payloads =
        render_event_with_metric_data(event.as_bytes(), &file(data), &RenderOptions::default())
            .unwrap();
    assert_eq!(payloads.len(), 1);
    payloads.into_iter().next().unwrap()
}

/// The chart blocks of a payload, each checked against Slack's limits.
fn charts(payload: &Value) -> Vec<Value> {
    check_limits(payload).unwrap_or_else(|e| panic!("{e}: {payload:#}"));
    let charts: Vec<Value> = payload["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["type"] == "data_visualization")
        .cloned()
        .collect();
    assert_eq!(charts.len(), 1, "{payload:#}");
    charts
}

fn chart(event: &str, data: &str) -> Value {
    charts(&payload_with(&file(event), data)).remove(0)
}

#[test]
fn a_metric_alarm() {
    insta::assert_json_snapshot!(chart("events/sns-alarm.json", "tests/metric-data/cpu.json"));
}

#[test]
fn a_math_alarm() {
    insta::assert_json_snapshot!(chart(
        "events/sns-metric-math.json",
        "tests/metric-data/math.json"
    ));
}

#[test]
fn an_anomaly_alarm() {
    insta::assert_json_snapshot!(chart(
        "events/sns-anomaly-band.json",
        "tests/metric-data/anomaly.json"
    ));
}

#[test]
fn a_metric_with_gaps() {
    insta::assert_json_snapshot!(chart(
        "events/sns-alarm.json",
        "tests/metric-data/gaps.json"
    ));
}

#[test]
fn a_flat_line() {
    insta::assert_json_snapshot!(chart(
        "events/sns-alarm.json",
        "tests/metric-data/flat.json"
    ));
}

#[test]
fn huge_and_tiny_values() {
    insta::assert_json_snapshot!(chart(
        "events/sns-alarm.json",
        "tests/metric-data/extremes.json"
    ));
}

#[test]
fn a_long_alarm_name() {
    let event = file("events/sns-alarm.json").replace(
        "prod-web-1-cpu-high",
        "prod-web-1-cpu-high-on-the-payments-checkout-fleet-behind-the-eu-west-load-balancer",
    );
    insta::assert_json_snapshot!(charts(&payload_with(&event, "tests/metric-data/cpu.json")));
}

#[test]
fn the_top_level_text_and_the_rest_of_the_message_are_unchanged() {
    let event = file("events/sns-alarm.json");
    let plain = slack_alarm_notifier::render_event(event.as_bytes(), &RenderOptions::default())
        .unwrap()
        .remove(0);
    let mut with = payload_with(&event, "tests/metric-data/cpu.json");
    with["blocks"]
        .as_array_mut()
        .unwrap()
        .retain(|b| b["type"] != "data_visualization");
    assert_eq!(with, plain);
}

/// The limits of Slack's reference for the block,
/// <https://docs.slack.dev/reference/block-kit/blocks/data-visualization-block>: a title of at
/// most 50 characters; a line chart of 1 to 6 series (some crates say 12; the page says 6);
/// a series' name at most 20 characters, unique in its chart; 1 to 20 data points, exactly
/// one for every category, whose labels are at most 20 characters; axis titles at most 50.
/// At most two charts in a message. `check_limits` must refuse each of them broken.
#[test]
fn every_limit_of_slacks_reference_is_checked() {
    let good = payload_with(&file("events/sns-alarm.json"), "tests/metric-data/cpu.json");
    check_limits(&good).unwrap();
    let at = good["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .position(|b| b["type"] == "data_visualization")
        .unwrap();
    let broken = |change: &dyn Fn(&mut Value)| {
        let mut payload = good.clone();
        change(&mut payload["blocks"][at]);
        check_limits(&payload).err()
    };
    let chart = &good["blocks"][at];
    assert!(chart["title"].as_str().unwrap().chars().count() <= 50);
    for (what, change) in [
        (
            "a title of 51",
            &(|b: &mut Value| b["title"] = "t".repeat(51).into()) as &dyn Fn(&mut Value),
        ),
        ("no title", &|b: &mut Value| b["title"] = "".into()),
        ("7 series", &|b: &mut Value| {
            let one = b["chart"]["series"][0].clone();
            let series: Vec<Value> = (0..7)
                .map(|i| {
                    let mut s = one.clone();
                    s["name"] = format!("s{i}").into();
                    s
                })
                .collect();
            b["chart"]["series"] = series.into();
        }),
        ("no series", &|b: &mut Value| {
            b["chart"]["series"] = Value::Array(Vec::new())
        }),
        ("a series name of 21", &|b: &mut Value| {
            b["chart"]["series"][0]["name"] = "n".repeat(21).into()
        }),
        ("two series of one name", &|b: &mut Value| {
            let name = b["chart"]["series"][0]["name"].clone();
            b["chart"]["series"][1]["name"] = name;
        }),
        ("21 categories", &|b: &mut Value| {
            let labels: Vec<Value> = (0..21).map(|i| format!("c{i}").into()).collect();
            b["chart"]["axis_config"]["categories"] = labels.into();
        }),
        ("a category label of 21", &|b: &mut Value| {
            b["chart"]["axis_config"]["categories"][0] = "c".repeat(21).into()
        }),
        ("a missing point", &|b: &mut Value| {
            b["chart"]["series"][0]["data"]
                .as_array_mut()
                .unwrap()
                .pop();
        }),
        ("a null value", &|b: &mut Value| {
            b["chart"]["series"][0]["data"][0]["value"] = Value::Null
        }),
        ("an x axis title of 51", &|b: &mut Value| {
            b["chart"]["axis_config"]["x_label"] = "x".repeat(51).into()
        }),
        ("a y axis title of 51", &|b: &mut Value| {
            b["chart"]["axis_config"]["y_label"] = "y".repeat(51).into()
        }),
        ("a bar chart", &|b: &mut Value| {
            b["chart"]["type"] = "bar".into()
        }),
    ] {
        assert!(broken(change).is_some(), "{what} passed");
    }
    let mut three = good.clone();
    let blocks = three["blocks"].as_array_mut().unwrap();
    blocks.push(chart.clone());
    blocks.push(chart.clone());
    assert!(check_limits(&three).is_err(), "three charts passed");
    blocks_of_two(&good, chart);
}

fn blocks_of_two(good: &Value, chart: &Value) {
    let mut two = good.clone();
    two["blocks"].as_array_mut().unwrap().push(chart.clone());
    check_limits(&two).unwrap();
}

#[test]
fn a_bad_recorded_answer_is_an_error_not_a_panic() {
    let event = file("events/sns-alarm.json");
    for (bad, says) in [
        ("", "not JSON"),
        ("[]", "no MetricDataResults"),
        (
            r#"{"MetricDataResults":[{"Id":"m1","Timestamps":["x"],"Values":[1]}]}"#,
            "Timestamps[0]",
        ),
    ] {
        let error = render_event_with_metric_data(event.as_bytes(), bad, &RenderOptions::default())
            .unwrap_err();
        assert!(error.contains(says), "{bad:?}: {error}");
    }
}
