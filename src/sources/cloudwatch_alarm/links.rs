//! Where an alarm points in the console besides itself: the region's code when the message
//! gives only its display name, the Lambda function's logs over the evaluation window, and
//! the resource a dimension names (ECS service, SQS queue, load balancer, target group…).

use chrono::{DateTime, Duration, Utc};

use super::super::shared::{console_host, partition_of, url_encode};
use crate::model::alarm::{Alarm, AlarmKind, Metric};

/// Region display names, as alarm messages without an ARN carry them, by the part that
/// tells regions apart: the place ("N. Virginia", "Ireland") with its area where a place
/// is not unique ("Canada (Central)", "Mexico (Central)").
const REGIONS: &[(&str, &str)] = &[
    ("nvirginia", "us-east-1"),
    ("ohio", "us-east-2"),
    ("ncalifornia", "us-west-1"),
    ("oregon", "us-west-2"),
    ("capetown", "af-south-1"),
    ("hongkong", "ap-east-1"),
    ("taipei", "ap-east-2"),
    ("mumbai", "ap-south-1"),
    ("hyderabad", "ap-south-2"),
    ("tokyo", "ap-northeast-1"),
    ("seoul", "ap-northeast-2"),
    ("osaka", "ap-northeast-3"),
    ("singapore", "ap-southeast-1"),
    ("sydney", "ap-southeast-2"),
    ("jakarta", "ap-southeast-3"),
    ("melbourne", "ap-southeast-4"),
    ("malaysia", "ap-southeast-5"),
    ("newzealand", "ap-southeast-6"),
    ("thailand", "ap-southeast-7"),
    ("canada central", "ca-central-1"),
    ("calgary", "ca-west-1"),
    ("frankfurt", "eu-central-1"),
    ("zurich", "eu-central-2"),
    ("ireland", "eu-west-1"),
    ("london", "eu-west-2"),
    ("paris", "eu-west-3"),
    ("milan", "eu-south-1"),
    ("spain", "eu-south-2"),
    ("stockholm", "eu-north-1"),
    ("telaviv", "il-central-1"),
    ("bahrain", "me-south-1"),
    ("uae", "me-central-1"),
    ("mexico central", "mx-central-1"),
    ("saopaulo", "sa-east-1"),
    ("beijing", "cn-north-1"),
    ("ningxia", "cn-northwest-1"),
    ("useast", "us-gov-east-1"),
    ("uswest", "us-gov-west-1"),
    // The older GovCloud name, from before there were two.
    ("us", "us-gov-west-1"),
];

/// The region code for a display name: `US East (N. Virginia)`, the older `EU - Ireland`
/// and `US East - N. Virginia`, or `AWS GovCloud (US-West)`. A code is returned as it is.
pub(crate) fn region_code(display: &str) -> Option<&'static str> {
    let display = display.trim();
    let fold = |s: &str| -> String {
        s.chars()
            .map(|c| match c {
                'ã' | 'á' | 'à' => 'a',
                'ü' | 'ú' => 'u',
                'é' => 'e',
                c => c.to_ascii_lowercase(),
            })
            .filter(char::is_ascii_alphanumeric)
            .collect()
    };
    let (area, place) = if let Some((area, rest)) = display.split_once('(') {
        (area, rest.trim_end_matches(')'))
    } else if let Some((area, place)) = display.split_once(" - ") {
        (area, place)
    } else {
        return REGIONS
            .iter()
            .map(|(_, code)| *code)
            .find(|code| *code == display);
    };
    let place = fold(place);
    let with_area = format!("{} {place}", fold(area));
    REGIONS
        .iter()
        .find(|(key, _)| *key == with_area || *key == place)
        .map(|(_, code)| *code)
}

/// Links beyond the alarm itself, each with its button label.
pub(crate) fn resource_links(alarm: &Alarm) -> Vec<(&'static str, String)> {
    let Some(region) = alarm
        .region
        .as_deref()
        .filter(|r| super::super::shared::is_region_code(r))
    else {
        return Vec::new();
    };
    let partition = partition_of(alarm.arn.as_deref());
    let AlarmKind::Metric(condition) = &alarm.kind else {
        return Vec::new();
    };
    let metric = &condition.metric;
    let host = console_host(partition, region);
    let mut links = Vec::new();
    if let Some(url) = lambda_logs(alarm, metric, &host, region) {
        links.push(("Logs Insights", url));
    }
    if let Some(link) = resource(metric, alarm, &host, region, partition) {
        links.push(link);
    }
    links
}

fn dimension<'a>(metric: &'a Metric, name: &str) -> Option<&'a str> {
    metric
        .dimensions
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

/// The function's log group in Logs Insights, from the start of the first evaluated period
/// to the state change.
fn lambda_logs(alarm: &Alarm, metric: &Metric, host: &str, region: &str) -> Option<String> {
    if metric.namespace.as_deref() != Some("AWS/Lambda") {
        return None;
    }
    let function = dimension(metric, "FunctionName")?;
    let end = alarm.time?;
    let AlarmKind::Metric(condition) = &alarm.kind else {
        return None;
    };
    let period = condition
        .evaluation
        .period_seconds
        .or(metric.period_seconds)
        .unwrap_or(300);
    let periods = condition.evaluation.evaluation_periods.unwrap_or(1).max(1);
    let window = i64::try_from(period.saturating_mul(periods))
        .unwrap_or(i64::MAX)
        .clamp(60, 7 * 24 * 3600);
    // From the start of the first evaluated period, which began before the state change
    // by up to a period more than the window.
    let start = end - Duration::seconds(window);
    let start =
        start - Duration::seconds(start.timestamp().rem_euclid(period.clamp(1, 86_400) as i64));
    let query = "fields @timestamp, @requestId, @message\n| sort @timestamp desc\n| limit 200";
    let log_group = format!("/aws/lambda/{function}");
    Some(format!(
        "https://{host}/cloudwatch/home?region={region}#logsV2:logs-insights$3FqueryDetail$3D~(end~'{}~start~'{}~timeType~'ABSOLUTE~tz~'UTC~editorString~'{}~source~(~'{}))",
        insights_text(&iso(end)),
        insights_text(&iso(start)),
        insights_text(query),
        insights_text(&log_group),
    ))
}

fn iso(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S.000Z").to_string()
}

/// The console's encoding of a string inside a Logs Insights link: letters, digits, `-`,
/// `.` and `_` as they are, every other byte as `*` and two hex digits.
fn insights_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_') {
            out.push(b as char);
        } else {
            out.push_str(&format!("*{b:02x}"));
        }
    }
    out
}

/// The resource the alarm's dimensions name, where its console page is well defined.
fn resource(
    metric: &Metric,
    alarm: &Alarm,
    host: &str,
    region: &str,
    partition: &str,
) -> Option<(&'static str, String)> {
    let base = format!("https://{host}");
    let d = |name| dimension(metric, name);
    match metric.namespace.as_deref()? {
        "AWS/Lambda" => Some((
            "Open function",
            format!(
                "{base}/lambda/home?region={region}#/functions/{}",
                url_encode(d("FunctionName")?)
            ),
        )),
        "AWS/ECS" | "ECS/ContainerInsights" => {
            let cluster = url_encode(d("ClusterName")?);
            Some(match d("ServiceName") {
                Some(service) => (
                    "Open ECS service",
                    format!(
                        "{base}/ecs/v2/clusters/{cluster}/services/{}/health?region={region}",
                        url_encode(service)
                    ),
                ),
                None => (
                    "Open ECS cluster",
                    format!("{base}/ecs/v2/clusters/{cluster}/services?region={region}"),
                ),
            })
        }
        "AWS/SQS" => {
            let account = alarm.account.as_deref()?;
            let domain = if partition == "aws-cn" {
                "amazonaws.com.cn"
            } else {
                "amazonaws.com"
            };
            let queue_url = format!(
                "https://sqs.{region}.{domain}/{account}/{}",
                d("QueueName")?
            );
            Some((
                "Open queue",
                format!(
                    "{base}/sqs/v3/home?region={region}#/queues/{}",
                    url_encode(&queue_url)
                ),
            ))
        }
        "AWS/ApplicationELB" | "AWS/NetworkELB" | "AWS/GatewayELB" => {
            let account = alarm.account.as_deref()?;
            let arn = |resource: &str| {
                format!("arn:{partition}:elasticloadbalancing:{region}:{account}:{resource}")
            };
            if let Some(group) = d("TargetGroup") {
                Some((
                    "Open target group",
                    format!(
                        "{base}/ec2/home?region={region}#TargetGroup:targetGroupArn={}",
                        arn(group)
                    ),
                ))
            } else {
                Some((
                    "Open load balancer",
                    format!(
                        "{base}/ec2/home?region={region}#LoadBalancer:loadBalancerArn={}",
                        arn(&format!("loadbalancer/{}", d("LoadBalancer")?))
                    ),
                ))
            }
        }
        "AWS/EC2" => Some((
            "Open instance",
            format!(
                "{base}/ec2/home?region={region}#InstanceDetails:instanceId={}",
                url_encode(d("InstanceId")?)
            ),
        )),
        "AWS/RDS" => {
            let (id, cluster) = match (d("DBInstanceIdentifier"), d("DBClusterIdentifier")) {
                (Some(id), _) => (id, false),
                (None, Some(id)) => (id, true),
                (None, None) => return None,
            };
            Some((
                "Open database",
                format!(
                    "{base}/rds/home?region={region}#database:id={};is-cluster={cluster}",
                    url_encode(id)
                ),
            ))
        }
        "AWS/DynamoDB" => Some((
            "Open table",
            format!(
                "{base}/dynamodbv2/home?region={region}#table?name={}",
                url_encode(d("TableName")?)
            ),
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::cloudwatch_alarm::tests::metric_alarm;
    use crate::sources::shared::parse_time;

    #[test]
    fn display_names_of_both_eras_map_to_codes() {
        for (display, code) in [
            ("US East (N. Virginia)", "us-east-1"),
            ("US East - N. Virginia", "us-east-1"),
            ("EU - Ireland", "eu-west-1"),
            ("EU (Ireland)", "eu-west-1"),
            ("Europe (Ireland)", "eu-west-1"),
            ("Asia Pacific - Tokyo", "ap-northeast-1"),
            ("South America (São Paulo)", "sa-east-1"),
            ("South America - Sao Paulo", "sa-east-1"),
            ("Canada (Central)", "ca-central-1"),
            ("Mexico (Central)", "mx-central-1"),
            ("China (Beijing)", "cn-north-1"),
            ("AWS GovCloud (US-West)", "us-gov-west-1"),
            ("AWS GovCloud (US-East)", "us-gov-east-1"),
            ("AWS GovCloud (US)", "us-gov-west-1"),
            ("eu-west-1", "eu-west-1"),
        ] {
            assert_eq!(region_code(display), Some(code), "{display}");
        }
        for unknown in [
            "",
            "Mars (Olympus Mons)",
            "Somewhere - Central",
            "us-moon-1",
        ] {
            assert_eq!(region_code(unknown), None, "{unknown}");
        }
    }

    fn lambda_alarm() -> Alarm {
        let mut a = metric_alarm();
        let AlarmKind::Metric(c) = &mut a.kind else {
            unreachable!()
        };
        c.metric.namespace = Some("AWS/Lambda".into());
        c.metric.name = "Errors".into();
        c.metric.dimensions = vec![("FunctionName".into(), "orders-api".into())];
        c.evaluation.period_seconds = Some(60);
        c.evaluation.evaluation_periods = Some(5);
        a.time = parse_time("2026-11-20T08:15:00.000Z");
        a.account = Some("123456789012".into());
        a
    }

    #[test]
    fn a_lambda_alarm_links_to_its_logs_over_the_evaluation_window() {
        let links = resource_links(&lambda_alarm());
        let (label, url) = &links[0];
        assert_eq!(*label, "Logs Insights");
        assert_eq!(
            url,
            "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#logsV2:logs-insights$3FqueryDetail$3D~(end~'2026-11-20T08*3a15*3a00.000Z~start~'2026-11-20T08*3a10*3a00.000Z~timeType~'ABSOLUTE~tz~'UTC~editorString~'fields*20*40timestamp*2c*20*40requestId*2c*20*40message*0a*7c*20sort*20*40timestamp*20desc*0a*7c*20limit*20200~source~(~'*2faws*2flambda*2forders-api))"
        );
        assert_eq!(
            links[1],
            (
                "Open function",
                "https://us-east-1.console.aws.amazon.com/lambda/home?region=us-east-1#/functions/orders-api".to_owned()
            )
        );
        // No time, no window: no logs link, but the function still.
        let mut a = lambda_alarm();
        a.time = None;
        assert_eq!(resource_links(&a).len(), 1);
    }

    #[test]
    fn dimensions_name_their_resource() {
        let with = |namespace: &str, dims: &[(&str, &str)]| {
            let mut a = lambda_alarm();
            let AlarmKind::Metric(c) = &mut a.kind else {
                unreachable!()
            };
            c.metric.namespace = Some(namespace.into());
            c.metric.dimensions = dims
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            resource_links(&a)
        };
        let ecs = with(
            "AWS/ECS",
            &[("ClusterName", "prod"), ("ServiceName", "web")],
        );
        assert_eq!(
            ecs[0].1,
            "https://us-east-1.console.aws.amazon.com/ecs/v2/clusters/prod/services/web/health?region=us-east-1"
        );
        let sqs = with("AWS/SQS", &[("QueueName", "orders-dlq")]);
        assert_eq!(
            sqs[0].1,
            "https://us-east-1.console.aws.amazon.com/sqs/v3/home?region=us-east-1#/queues/https%3A%2F%2Fsqs.us-east-1.amazonaws.com%2F123456789012%2Forders-dlq"
        );
        let tg = with(
            "AWS/ApplicationELB",
            &[
                ("TargetGroup", "targetgroup/web/0123456789abcdef"),
                ("LoadBalancer", "app/web/fedcba9876543210"),
            ],
        );
        assert_eq!(
            tg[0].1,
            "https://us-east-1.console.aws.amazon.com/ec2/home?region=us-east-1#TargetGroup:targetGroupArn=arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef"
        );
        let lb = with(
            "AWS/ApplicationELB",
            &[("LoadBalancer", "app/web/fedcba9876543210")],
        );
        assert!(lb[0].1.ends_with("#LoadBalancer:loadBalancerArn=arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/fedcba9876543210"));
        assert_eq!(with("AWS/ECS", &[("ServiceName", "web")]), vec![]);
        assert_eq!(with("Custom/App", &[("FunctionName", "x")]), vec![]);
        assert_eq!(with("AWS/Lambda", &[]), vec![]);
    }
}
