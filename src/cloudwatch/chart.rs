//! An alarm's native chart: what to ask CloudWatch's `GetMetricData` for ([`request`]), and
//! its answer as a Slack data visualization block ([`block`]): the metric, the threshold or
//! the anomaly band, over the periods before the state change. Pure: no network, no clock.

use std::collections::HashMap;

use chrono::{DateTime, TimeZone, Utc};

use crate::model::alarm::{Alarm, AlarmKind, AnomalyCondition, Metric, MetricQuery};
use crate::render::blocks::{limits, AxisConfig, Block, Chart, Point, Series};

/// A period when neither the alarm nor its metrics name one: CloudWatch's usual.
pub(crate) const DEFAULT_PERIOD: u64 = 300;
/// The most points a chart shows: Slack's limit on a series' points.
pub(crate) const POINTS: usize = limits::SERIES_POINTS;
/// Where the text of a name, label or title was cut.
const CUT: char = '…';

/// One query of a `GetMetricData` request.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Query {
    pub(crate) id: String,
    pub(crate) expression: Option<String>,
    /// A metric, with the statistic to read it by (`Average` when the alarm names none).
    pub(crate) metric: Option<Metric>,
    pub(crate) period: u64,
    pub(crate) label: Option<String>,
    pub(crate) return_data: bool,
}

/// What an alarm's chart asks `GetMetricData` for, and which answer is which.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ChartRequest {
    pub(crate) queries: Vec<Query>,
    pub(crate) start: DateTime<Utc>,
    /// Exclusive, as `GetMetricData` reads it.
    pub(crate) end: DateTime<Utc>,
    pub(crate) period: u64,
    /// The query whose answer is the line the alarm watches.
    metric_id: String,
    /// The anomaly band's query.
    band_id: Option<String>,
}

/// One time series of the answer.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Answered {
    pub(crate) id: String,
    pub(crate) label: Option<String>,
    pub(crate) points: Vec<(DateTime<Utc>, f64)>,
}

/// The request for `alarm`'s chart: the last [`POINTS`] periods up to the period in which its
/// state changed (`now` when the alarm gives no time). `None` for an alarm with nothing to
/// chart (composite, unknown, a metric without a name).
pub(crate) fn request(alarm: &Alarm, now: DateTime<Utc>) -> Option<ChartRequest> {
    let period = crate::cloudwatch::widget::alarm_period(alarm)
        .filter(|p| *p > 0)
        .unwrap_or(DEFAULT_PERIOD);
    let (queries, metric_id, band_id) = match &alarm.kind {
        AlarmKind::Metric(c) => {
            if c.metric.name.is_empty() {
                return None;
            }
            let query = Query {
                id: "m1".into(),
                expression: None,
                metric: Some(c.metric.clone()),
                period: c.metric.period_seconds.unwrap_or(period),
                label: None,
                return_data: true,
            };
            (vec![query], "m1".to_owned(), None)
        }
        AlarmKind::MetricMath(c) => math_queries(&c.queries, period)?,
        AlarmKind::Anomaly(c) => anomaly_queries(c, period)?,
        AlarmKind::Composite(_) | AlarmKind::Unknown => return None,
    };
    if queries.is_empty() || metric_id.is_empty() {
        return None;
    }
    let at = alarm.time.unwrap_or(now).timestamp();
    let step = i64::try_from(period).ok()?;
    // The end of the period in which the state changed, so that period is in.
    let end = at.checked_add(step - 1)? / step * step;
    let start = end.checked_sub(step.checked_mul(POINTS as i64)?)?;
    Some(ChartRequest {
        queries,
        start: Utc.timestamp_opt(start, 0).single()?,
        end: Utc.timestamp_opt(end, 0).single()?,
        period,
        metric_id,
        band_id,
    })
}

/// A math alarm's queries, only the expression it watches returning data; and its id.
fn math_queries(all: &[MetricQuery], period: u64) -> Option<(Vec<Query>, String, Option<String>)> {
    let watched = all
        .iter()
        .find(|q| q.return_data)
        .or_else(|| all.iter().find(|q| q.expression.is_some()))?;
    let mut queries = queries(all, period);
    for q in &mut queries {
        q.return_data = q.id == watched.id;
    }
    Some((queries, watched.id.clone(), None))
}

/// An anomaly alarm's queries, its metric and band returning data (the band added when the
/// alarm gives it apart); the metric's id and the band's.
fn anomaly_queries(
    c: &AnomalyCondition,
    period: u64,
) -> Option<(Vec<Query>, String, Option<String>)> {
    let is_band = |q: &MetricQuery| {
        q.expression
            .as_deref()
            .is_some_and(|e| e.contains("ANOMALY_DETECTION_BAND"))
    };
    let watched = c
        .queries
        .iter()
        .find(|q| !is_band(q) && q.return_data)
        .or_else(|| c.queries.iter().find(|q| !is_band(q)))?;
    let mut queries = queries(&c.queries, period);
    let band_id = match (c.queries.iter().find(|q| is_band(q)), &c.band) {
        (Some(b), _) => Some(b.id.clone()),
        (None, Some(expression)) => {
            queries.push(Query {
                id: "ad1".into(),
                expression: Some(expression.clone()),
                metric: None,
                period,
                label: None,
                return_data: true,
            });
            Some("ad1".into())
        }
        (None, None) => None,
    };
    for q in &mut queries {
        q.return_data = q.id == watched.id || Some(&q.id) == band_id.as_ref();
    }
    Some((queries, watched.id.clone(), band_id))
}

/// The alarm's queries as a request's, each metric with its period; none returns data until
/// the caller says.
fn queries(all: &[MetricQuery], period: u64) -> Vec<Query> {
    all.iter()
        .filter(|q| !q.id.is_empty() && (q.expression.is_some() || q.metric.is_some()))
        .map(|q| Query {
            id: q.id.clone(),
            expression: q.expression.clone(),
            metric: q.metric.clone(),
            period: q
                .metric
                .as_ref()
                .and_then(|m| m.period_seconds)
                .unwrap_or(period),
            label: q.label.clone(),
            return_data: false,
        })
        .collect()
}

/// `text` in at most `max` characters, cut with an ellipsis.
fn cut(text: &str, max: usize) -> String {
    let text = text.trim();
    if crate::model::mrkdwn::slack_len(text) <= max {
        return text.to_owned();
    }
    let mut out = String::new();
    let mut len = 0;
    for c in text.chars() {
        if len + c.len_utf16() + 1 > max {
            break;
        }
        out.push(c);
        len += c.len_utf16();
    }
    out.push(CUT);
    out
}

/// A period in words: `5-min`, `1-h`, `30-s`.
fn period_words(period: u64) -> String {
    match period {
        p if p % 3600 == 0 => format!("{}-h", p / 3600),
        p if p % 60 == 0 => format!("{}-min", p / 60),
        p => format!("{p}-s"),
    }
}

/// How the times of a chart are labelled: short, and each one distinct.
fn time_label(times: &[DateTime<Utc>], period: u64) -> impl Fn(&DateTime<Utc>) -> String {
    let one_day = times
        .first()
        .zip(times.last())
        .is_some_and(|(a, b)| a.date_naive() == b.date_naive());
    let format = match period {
        p if p % 60 != 0 => "%H:%M:%S",
        p if p >= 86_400 => "%Y-%m-%d",
        _ if one_day => "%H:%M",
        _ => "%m-%d %H:%M",
    };
    move |t: &DateTime<Utc>| t.format(format).to_string()
}

/// The answer's finite values by time, sorted, one per time.
fn series_points(answer: &Answered) -> Vec<(DateTime<Utc>, f64)> {
    let mut points: Vec<(DateTime<Utc>, f64)> = answer
        .points
        .iter()
        .copied()
        .filter(|(_, v)| v.is_finite())
        .collect();
    points.sort_by_key(|(t, _)| *t);
    points.dedup_by_key(|(t, _)| *t);
    points
}

/// The lines of an anomaly band: its high and low edge when the answer has two series
/// under the band's id, else the one it has.
fn band_lines<'a>(
    answer: &'a [Answered],
    band_id: Option<&str>,
) -> Vec<(&'static str, &'a Answered)> {
    let Some(id) = band_id else {
        return Vec::new();
    };
    let found: Vec<&Answered> = answer.iter().filter(|a| a.id == id).collect();
    match found.as_slice() {
        [one] => vec![("Expected", *one)],
        [a, b] => {
            let sum = |s: &Answered| series_points(s).iter().map(|(_, v)| v).sum::<f64>();
            let (high, low) = if sum(a) >= sum(b) { (*a, *b) } else { (*b, *a) };
            vec![("Band high", high), ("Band low", low)]
        }
        _ => Vec::new(),
    }
}

/// The name the watched line goes by: its query's label, its metric's name, or `Value`.
fn metric_name(alarm: &Alarm, request: &ChartRequest, answered: &Answered) -> String {
    let query = request.queries.iter().find(|q| q.id == request.metric_id);
    let name = query
        .and_then(|q| q.label.clone())
        .or_else(|| {
            query
                .and_then(|q| q.metric.as_ref())
                .map(|m| m.name.clone())
        })
        .or_else(|| answered.label.clone())
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| match &alarm.kind {
            AlarmKind::Metric(c) => c.metric.name.clone(),
            _ => "Value".into(),
        });
    cut(&name, limits::SERIES_NAME)
}

/// The y axis: the statistic and unit, where known.
fn y_label(request: &ChartRequest) -> Option<String> {
    let metric = request
        .queries
        .iter()
        .find(|q| q.id == request.metric_id)
        .and_then(|q| q.metric.as_ref());
    let stat = metric.and_then(|m| m.statistic.clone());
    let unit = metric
        .and_then(|m| m.unit.clone())
        .filter(|u| !u.is_empty() && u != "None");
    let label = match (stat, unit) {
        (Some(s), Some(u)) => format!("{s} ({u})"),
        (Some(s), None) => s,
        (None, Some(u)) => u,
        (None, None) => return None,
    };
    Some(cut(&label, limits::AXIS_LABEL))
}

/// The chart's lines over `kept`'s times (labelled `categories`): the watched line, the
/// band's, and the threshold, each named uniquely.
fn lines(
    alarm: &Alarm,
    request: &ChartRequest,
    watched: &Answered,
    kept: &[(DateTime<Utc>, f64)],
    bands: &[(&str, HashMap<DateTime<Utc>, f64>)],
    categories: &[String],
) -> Vec<Series> {
    let line = |name: String, values: Vec<f64>| Series {
        name,
        data: categories
            .iter()
            .zip(values)
            .map(|(c, value)| Point {
                label: c.clone(),
                value,
            })
            .collect(),
    };
    let mut name = metric_name(alarm, request, watched);
    let threshold = match &alarm.kind {
        AlarmKind::Metric(c) => c.evaluation.threshold,
        AlarmKind::MetricMath(c) => c.evaluation.threshold,
        _ => None,
    }
    .filter(|v| v.is_finite());
    let mut others: Vec<(String, Vec<f64>)> = bands
        .iter()
        .map(|(n, b)| ((*n).to_owned(), kept.iter().map(|(t, _)| b[t]).collect()))
        .collect();
    if let Some(value) = threshold {
        others.push(("Threshold".into(), vec![value; kept.len()]));
    }
    if others.iter().any(|(n, _)| *n == name) {
        name = "Metric".into();
    }
    let mut series = vec![line(name, kept.iter().map(|(_, v)| *v).collect())];
    series.extend(others.into_iter().map(|(n, values)| line(n, values)));
    series
}

/// `alarm`'s chart from `answer` to `request`: the watched line, with the threshold or the
/// anomaly band, on the last [`POINTS`] periods with data. Periods without data are left
/// out (Slack takes no empty points), and the x axis says how many. `None` when the answer
/// has no data for the watched line.
pub(crate) fn block(alarm: &Alarm, request: &ChartRequest, answer: &[Answered]) -> Option<Block> {
    let watched = answer
        .iter()
        .find(|a| a.id == request.metric_id)
        .or(match answer {
            [only] => Some(only),
            _ => None,
        })?;
    let metric = series_points(watched);
    let mut bands: Vec<(&str, HashMap<DateTime<Utc>, f64>)> =
        band_lines(answer, request.band_id.as_deref())
            .into_iter()
            .map(|(name, a)| (name, series_points(a).into_iter().collect()))
            .collect();
    let covered = |t: &DateTime<Utc>, bands: &[(&str, HashMap<_, f64>)]| {
        bands.iter().all(|(_, b)| b.contains_key(t))
    };
    if !metric.iter().any(|(t, _)| covered(t, &bands)) {
        bands.clear();
    }
    let kept: Vec<(DateTime<Utc>, f64)> = metric
        .into_iter()
        .filter(|(t, _)| covered(t, &bands))
        .collect();
    let kept = &kept[kept.len().saturating_sub(POINTS)..];
    let (first, last) = (kept.first()?.0, kept.last()?.0);
    let times: Vec<DateTime<Utc>> = kept.iter().map(|(t, _)| *t).collect();
    let label = time_label(&times, request.period);
    let categories: Vec<String> = times.iter().map(&label).collect();
    let series = lines(alarm, request, watched, kept, &bands, &categories);
    let step = i64::try_from(request.period).ok().filter(|p| *p > 0)?;
    let spanned = usize::try_from((last - first).num_seconds() / step + 1).unwrap_or(kept.len());
    let missing = spanned.saturating_sub(kept.len());
    let mut x_label = format!("UTC, {} periods", period_words(request.period));
    if missing > 0 {
        x_label.push_str(&format!(", {missing} without data"));
    }
    let title = if alarm.name.trim().is_empty() {
        "Metric".to_owned()
    } else {
        cut(&alarm.name, limits::CHART_TITLE)
    };
    Some(Block::DataVisualization {
        title,
        chart: Chart::Line {
            series,
            axis_config: AxisConfig {
                categories,
                x_label: Some(cut(&x_label, limits::AXIS_LABEL)),
                y_label: y_label(request),
            },
        },
    })
}

/// The most results, and points in each, read from a recorded answer.
const MAX_RESULTS: usize = 100;
const MAX_POINTS: usize = 10_000;

/// A recorded `GetMetricData` answer, as `aws cloudwatch get-metric-data` prints it
/// (`MetricDataResults`, each with `Id`, `Label`, `Timestamps` in ISO 8601 and `Values`), or
/// what is wrong with it.
pub(crate) fn recorded(json: &str) -> Result<Vec<Answered>, String> {
    let value: serde_json::Value =
        serde_json::from_str(json).map_err(|e| format!("not JSON: {e}"))?;
    let results = value["MetricDataResults"].as_array().ok_or(
        "no MetricDataResults array: expected the output of aws cloudwatch get-metric-data",
    )?;
    if results.len() > MAX_RESULTS {
        return Err(format!(
            "{} results; at most {MAX_RESULTS} are read",
            results.len()
        ));
    }
    results
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let id = r["Id"]
                .as_str()
                .ok_or(format!("MetricDataResults[{i}]: no Id"))?;
            let at = |what: &str| format!("MetricDataResults[{i}] ({id}): {what}");
            let empty = Vec::new();
            let times = r["Timestamps"].as_array().unwrap_or(&empty);
            let values = r["Values"].as_array().unwrap_or(&empty);
            if times.len() != values.len() {
                return Err(at(&format!(
                    "{} Timestamps but {} Values",
                    times.len(),
                    values.len()
                )));
            }
            if times.len() > MAX_POINTS {
                return Err(at(&format!("more than {MAX_POINTS} points")));
            }
            let points = times
                .iter()
                .zip(values)
                .enumerate()
                .map(|(j, (t, v))| {
                    let time = t
                        .as_str()
                        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                        .ok_or_else(|| at(&format!("Timestamps[{j}] is not an ISO 8601 time")))?;
                    let value = v
                        .as_f64()
                        .ok_or_else(|| at(&format!("Values[{j}] is not a number")))?;
                    Ok((time.with_timezone(&Utc), value))
                })
                .collect::<Result<_, String>>()?;
            Ok(Answered {
                id: id.to_owned(),
                label: r["Label"].as_str().map(str::to_owned),
                points,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::alarm::{Evaluation, MathCondition, MetricCondition};
    use crate::sources::cloudwatch_alarm::tests::metric_alarm;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn alarm() -> Alarm {
        let mut alarm = metric_alarm();
        alarm.time = Some(at("2026-11-30T02:12:30Z"));
        let AlarmKind::Metric(MetricCondition { metric, evaluation }) = &mut alarm.kind else {
            panic!("a metric alarm")
        };
        metric.unit = Some("Percent".into());
        evaluation.threshold = Some(80.0);
        evaluation.period_seconds = Some(300);
        alarm
    }

    fn answered(id: &str, start: &str, values: &[f64]) -> Answered {
        let start = at(start);
        Answered {
            id: id.into(),
            label: None,
            points: values
                .iter()
                .enumerate()
                .map(|(i, v)| (start + chrono::Duration::minutes(5 * i as i64), *v))
                .collect(),
        }
    }

    fn chart(block: &Block) -> serde_json::Value {
        let value = serde_json::to_value(block).unwrap();
        let payload = serde_json::json!({"text": "t", "blocks": [value.clone()]});
        crate::render::check_limits(&payload).unwrap();
        value
    }

    #[test]
    fn a_metric_alarm_asks_for_the_periods_up_to_its_change() {
        let request = request(&alarm(), Utc::now()).unwrap();
        assert_eq!(request.end, at("2026-11-30T02:15:00Z"));
        assert_eq!(request.start, at("2026-11-30T00:35:00Z"));
        assert_eq!(request.queries.len(), 1);
        assert_eq!(request.queries[0].period, 300);
        assert!(request.queries[0].return_data);
    }

    #[test]
    fn a_metric_alarm_charts_its_metric_and_threshold() {
        let alarm = alarm();
        let request = request(&alarm, Utc::now()).unwrap();
        let answer = [answered(
            "m1",
            "2026-11-30T01:55:00Z",
            &[50.0, 70.5, 91.25, 95.0],
        )];
        let value = chart(&block(&alarm, &request, &answer).unwrap());
        assert_eq!(value["type"], "data_visualization");
        assert_eq!(value["title"], "cpu-high");
        let line = &value["chart"];
        assert_eq!(line["type"], "line");
        assert_eq!(
            line["axis_config"]["categories"],
            serde_json::json!(["01:55", "02:00", "02:05", "02:10"])
        );
        assert_eq!(line["axis_config"]["x_label"], "UTC, 5-min periods");
        assert_eq!(line["axis_config"]["y_label"], "Average (Percent)");
        assert_eq!(line["series"][0]["name"], "CPUUtilization");
        assert_eq!(line["series"][0]["data"][2]["value"], 91.25);
        assert_eq!(line["series"][1]["name"], "Threshold");
        assert_eq!(line["series"][1]["data"][3]["value"], 80.0);
    }

    #[test]
    fn gaps_are_left_out_and_counted_and_nothing_is_no_chart() {
        let alarm = alarm();
        let request = request(&alarm, Utc::now()).unwrap();
        let mut answer = answered("m1", "2026-11-30T01:40:00Z", &[1.0, f64::NAN, 3.0, 4.0]);
        answer.points.remove(2);
        let value = chart(&block(&alarm, &request, &[answer]).unwrap());
        let axis = &value["chart"]["axis_config"];
        assert_eq!(axis["categories"], serde_json::json!(["01:40", "01:55"]));
        assert_eq!(axis["x_label"], "UTC, 5-min periods, 2 without data");
        assert_eq!(
            block(
                &alarm,
                &request,
                &[answered("m1", "2026-11-30T01:40:00Z", &[])]
            ),
            None
        );
        assert_eq!(block(&alarm, &request, &[]), None);
    }

    #[test]
    fn at_most_twenty_points_and_names_titles_within_slacks_limits() {
        let mut alarm = alarm();
        alarm.name = "a".repeat(300);
        let AlarmKind::Metric(c) = &mut alarm.kind else {
            panic!()
        };
        c.metric.name = "VeryLongMetricNameThatGoesOnAndOn".into();
        let request = request(&alarm, Utc::now()).unwrap();
        let values: Vec<f64> = (0..40).map(f64::from).collect();
        let value = chart(
            &block(
                &alarm,
                &request,
                &[answered("m1", "2026-11-29T23:00:00Z", &values)],
            )
            .unwrap(),
        );
        assert_eq!(value["title"].as_str().unwrap().chars().count(), 50);
        assert_eq!(value["chart"]["series"][0]["name"], "VeryLongMetricNameT…");
        let data = value["chart"]["series"][0]["data"].as_array().unwrap();
        assert_eq!(data.len(), 20);
        assert_eq!(data[19]["value"], 39.0, "the latest points");
    }

    #[test]
    fn a_math_alarm_charts_the_expression_it_watches() {
        let mut alarm = alarm();
        let metric = |name: &str| Metric {
            namespace: Some("AWS/ApplicationELB".into()),
            name: name.into(),
            statistic: Some("Sum".into()),
            period_seconds: Some(60),
            ..Metric::default()
        };
        let q = |id: &str, expression: Option<&str>, m: Option<Metric>, shown: bool| MetricQuery {
            id: id.into(),
            label: (id == "e1").then(|| "Error rate".into()),
            expression: expression.map(str::to_owned),
            metric: m,
            return_data: shown,
        };
        alarm.kind = AlarmKind::MetricMath(MathCondition {
            queries: vec![
                q("e1", Some("100*m2/m1"), None, true),
                q("m1", None, Some(metric("RequestCount")), false),
                q("m2", None, Some(metric("HTTPCode_Target_5XX_Count")), false),
            ],
            evaluation: Evaluation {
                threshold: Some(5.0),
                period_seconds: Some(60),
                ..Evaluation::default()
            },
        });
        let request = request(&alarm, Utc::now()).unwrap();
        let shown: Vec<bool> = request.queries.iter().map(|q| q.return_data).collect();
        assert_eq!(shown, [true, false, false]);
        assert_eq!(request.queries[1].period, 60);
        let answer = [Answered {
            id: "e1".into(),
            label: Some("Error rate".into()),
            points: vec![
                (at("2026-11-30T02:11:00Z"), 7.5),
                (at("2026-11-30T02:10:00Z"), 2.0),
            ],
        }];
        let value = chart(&block(&alarm, &request, &answer).unwrap());
        let line = &value["chart"];
        assert_eq!(line["series"][0]["name"], "Error rate");
        assert_eq!(
            line["axis_config"]["categories"],
            serde_json::json!(["02:10", "02:11"])
        );
        assert_eq!(line["series"][1]["data"][0]["value"], 5.0);
        assert!(line["axis_config"].get("y_label").is_none());
    }

    #[test]
    fn an_anomaly_alarm_charts_its_band_not_a_threshold() {
        let mut alarm = alarm();
        let AlarmKind::Metric(c) = alarm.kind.clone() else {
            panic!()
        };
        alarm.kind = AlarmKind::Anomaly(AnomalyCondition {
            band: Some("ANOMALY_DETECTION_BAND(m1, 2)".into()),
            queries: vec![MetricQuery {
                id: "m1".into(),
                metric: Some(c.metric),
                return_data: true,
                ..MetricQuery::default()
            }],
            evaluation: c.evaluation,
        });
        let request = request(&alarm, Utc::now()).unwrap();
        assert_eq!(
            request.queries[1].expression.as_deref(),
            Some("ANOMALY_DETECTION_BAND(m1, 2)")
        );
        let answer = [
            answered("m1", "2026-11-30T02:00:00Z", &[10.0, 11.0, 30.0]),
            answered("ad1", "2026-11-30T02:00:00Z", &[5.0, 5.0, 5.0]),
            answered("ad1", "2026-11-30T02:00:00Z", &[15.0, 15.0, 15.0]),
        ];
        let value = chart(&block(&alarm, &request, &answer).unwrap());
        let names: Vec<&str> = value["chart"]["series"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["CPUUtilization", "Band high", "Band low"]);
        assert_eq!(value["chart"]["series"][1]["data"][0]["value"], 15.0);
    }

    #[test]
    fn times_stay_short_and_distinct() {
        let times = [at("2026-11-30T23:50:00Z"), at("2026-12-01T00:10:00Z")];
        assert_eq!(time_label(&times, 300)(&times[1]), "12-01 00:10");
        assert_eq!(time_label(&times, 10)(&times[1]), "00:10:00");
        assert_eq!(time_label(&times, 86_400)(&times[1]), "2026-12-01");
        assert_eq!(cut("abcdef", 4), "abc…");
        assert_eq!(cut("abc", 4), "abc");
    }

    #[test]
    fn a_recorded_answer_is_read_or_named_wrong() {
        let good = r#"{"MetricDataResults":[{"Id":"m1","Label":"CPU","Timestamps":["2026-11-30T02:10:00+00:00","2026-11-30T02:05:00Z"],"Values":[1.5,2],"StatusCode":"Complete"}],"Messages":[]}"#;
        let read = recorded(good).unwrap();
        assert_eq!(read[0].points.len(), 2);
        assert_eq!(read[0].label.as_deref(), Some("CPU"));
        for (bad, says) in [
            ("nope", "not JSON"),
            ("{}", "no MetricDataResults"),
            (r#"{"MetricDataResults":[{"Label":"x"}]}"#, "no Id"),
            (
                r#"{"MetricDataResults":[{"Id":"m1","Timestamps":["2026-11-30T02:10:00Z"],"Values":[]}]}"#,
                "1 Timestamps but 0 Values",
            ),
            (
                r#"{"MetricDataResults":[{"Id":"m1","Timestamps":["yesterday"],"Values":[1]}]}"#,
                "Timestamps[0]",
            ),
            (
                r#"{"MetricDataResults":[{"Id":"m1","Timestamps":["2026-11-30T02:10:00Z"],"Values":["x"]}]}"#,
                "Values[0]",
            ),
        ] {
            let error = recorded(bad).unwrap_err();
            assert!(error.contains(says), "{bad}: {error}");
        }
    }

    #[test]
    fn composite_and_nameless_alarms_have_no_chart() {
        let mut alarm = alarm();
        alarm.kind = AlarmKind::Composite(Default::default());
        assert_eq!(request(&alarm, Utc::now()), None);
        alarm.kind = AlarmKind::Metric(MetricCondition::default());
        assert_eq!(request(&alarm, Utc::now()), None);
    }
}
