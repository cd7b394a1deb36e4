//! ECS tasks (`aws.ecs`, "ECS Task State Change"), service actions ("ECS Service Action":
//! steady state, deployments, tasks that cannot be placed or started) and service
//! deployments ("ECS Deployment State Change": in progress, completed, failed).

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::shared::*;
use super::{Body, Event, Source};
use crate::model::card::{Card, Severity};
use crate::model::mrkdwn::{escape, escape_within};
use super::ParseError;

pub(crate) const SOURCE: Source = Source::events("ecs", from_event);

fn from_event(event: &Event, detail: &Obj) -> Option<Result<Body, ParseError>> {
    if event.source != "aws.ecs" {
        return None;
    }
    match event.detail_type.as_str() {
        "ECS Task State Change" => Some(Ok(Body::new(read(detail, event)))),
        // A deployment's state change has the same shape, and a deployment id.
        "ECS Service Action" | "ECS Deployment State Change" => {
            Some(Ok(Body::new(read_service_action(detail, event))))
        }
        _ => None,
    }
}

/// An ECS task that changed state, with its containers.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct EcsTask {
    pub cluster_arn: Option<String>,
    pub task_arn: Option<String>,
    /// `service:<name>` or `family:<name>`.
    pub group: Option<String>,
    pub last_status: Option<String>,
    pub desired_status: Option<String>,
    pub stopped_reason: Option<String>,
    pub stop_code: Option<String>,
    pub launch_type: Option<String>,
    pub task_definition_arn: Option<String>,
    pub containers: Vec<Container>,
    pub account: Option<String>,
    pub region: Option<String>,
    pub time: Option<DateTime<Utc>>,
}

/// One container of the task.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Container {
    pub name: Option<String>,
    pub last_status: Option<String>,
    pub exit_code: Option<i64>,
    pub reason: Option<String>,
}

fn read(d: &Obj, event: &Event) -> EcsTask {
    let containers = arr_at(d, "containers")
        .iter()
        .filter_map(Value::as_object)
        .map(|c| Container {
            name: str_at(c, "name"),
            last_status: str_at(c, "lastStatus"),
            exit_code: c.get("exitCode").and_then(Value::as_i64),
            reason: str_at(c, "reason"),
        })
        .collect();
    EcsTask {
        cluster_arn: str_at(d, "clusterArn"),
        task_arn: str_at(d, "taskArn"),
        group: str_at(d, "group"),
        last_status: str_at(d, "lastStatus").map(|s| s.to_ascii_uppercase()),
        desired_status: str_at(d, "desiredStatus").map(|s| s.to_ascii_uppercase()),
        stopped_reason: str_at(d, "stoppedReason"),
        stop_code: str_at(d, "stopCode"),
        launch_type: str_at(d, "launchType"),
        task_definition_arn: str_at(d, "taskDefinitionArn"),
        containers,
        account: event.account.clone(),
        region: event.region.clone(),
        time: event.time,
    }
}

impl EcsTask {
    /// The cluster's name, from its ARN (`…:cluster/<name>`).
    pub(crate) fn cluster(&self) -> Option<&str> {
        let arn = self.cluster_arn.as_deref()?;
        Some(arn.rsplit_once('/').map_or(arn, |(_, name)| name))
    }

    /// The task's id, the last part of its ARN.
    pub(crate) fn task_id(&self) -> Option<&str> {
        let arn = self.task_arn.as_deref()?;
        Some(arn.rsplit_once('/').map_or(arn, |(_, id)| id))
    }

    /// `family:revision`, from the task definition's ARN.
    fn task_definition(&self) -> Option<&str> {
        let arn = self.task_definition_arn.as_deref()?;
        Some(arn.rsplit_once('/').map_or(arn, |(_, def)| def))
    }

    /// The container to blame: the first that exited non-zero or with a reason, else the
    /// first with an exit code.
    fn culprit(&self) -> Option<&Container> {
        self.containers
            .iter()
            .find(|c| c.exit_code.is_some_and(|e| e != 0) || c.reason.is_some())
            .or_else(|| self.containers.iter().find(|c| c.exit_code.is_some()))
    }
}

/// Stop reasons that mean something went wrong, not that someone or the scheduler
/// stopped a healthy task.
const ERROR_WORDS: [&str; 6] = ["fail", "error", "unable", "cannot", "timeout", "timed out"];

/// How bad the task's state is.
pub(crate) fn severity(t: &EcsTask) -> Severity {
    if t.last_status.as_deref() != Some("STOPPED") {
        return Severity::Info;
    }
    let reason = t
        .stopped_reason
        .as_deref()
        .unwrap_or_default()
        .to_ascii_lowercase();
    // A deliberate stop ends containers with SIGTERM or SIGKILL (143, 137): not a crash.
    let deliberate = matches!(
        t.stop_code.as_deref(),
        Some("UserInitiated" | "ServiceSchedulerInitiated")
    );
    let crashed = t.containers.iter().any(|c| {
        c.reason.is_some()
            || c.exit_code
                .is_some_and(|e| e != 0 && !(deliberate && matches!(e, 137 | 143)))
    });
    if crashed
        || t.stop_code.as_deref() == Some("TaskFailedToStart")
        || ERROR_WORDS.iter().any(|w| reason.contains(w))
    {
        return Severity::Error;
    }
    match t.stop_code.as_deref() {
        Some("SpotInterruption" | "TerminationNotice") => Severity::Warning,
        // Every essential container ran to completion: a job that finished.
        Some("EssentialContainerExited") if t.containers.iter().all(|c| c.exit_code == Some(0)) => {
            Severity::Ok
        }
        _ => Severity::Info,
    }
}

notice!(EcsTask, card, |it| it.task_id().unwrap_or_default().to_owned());

/// On a phone: why the task stopped and which container, or its status and where.
fn task_headline(t: &EcsTask, status: &str, group: &str) -> String {
    if status == "STOPPED" {
        let reason = t.stopped_reason.as_deref().unwrap_or("no reason given");
        let culprit = t.culprit().map(|c| {
            let name = c.name.as_deref().unwrap_or("container");
            match c.exit_code {
                Some(code) => format!(" ({}, exit {code})", escape(name)),
                None => format!(" ({})", escape(name)),
            }
        });
        format!(
            "ECS task stopped: {}{}",
            escape_within(reason, 200),
            culprit.unwrap_or_default()
        )
    } else {
        let cluster = t
            .cluster()
            .map(|c| format!(" in {}", escape(c)))
            .unwrap_or_default();
        format!("ECS task {}: {}{cluster}", escape(status), escape(group))
    }
}

/// Each container's exit code or status, and its reason, one a line.
fn container_lines(t: &EcsTask) -> Vec<String> {
    t.containers
        .iter()
        .map(|c| {
            let mut line = c.name.as_deref().unwrap_or("container").to_owned();
            match (c.exit_code, c.last_status.as_deref()) {
                (Some(code), _) => line += &format!(": exit {code}"),
                (None, Some(s)) => line += &format!(": {s}"),
                (None, None) => {}
            }
            if let Some(reason) = &c.reason {
                line += &format!(" ({reason})");
            }
            line
        })
        .collect()
}

/// The task as a card: why it stopped, its containers' exits, and a link to the task.
pub(crate) fn card(t: &EcsTask) -> Card {
    let status = t.last_status.as_deref().unwrap_or("UNKNOWN");
    let severity = severity(t);
    let emoji = severity.emoji("📦");
    let group = t.group.as_deref().or(t.task_id()).unwrap_or("task");
    let headline = task_headline(t, status, group);
    let mut m = Card::new(
        emoji,
        format!("ECS task {status}: {group}"),
        headline,
        severity,
    );
    if t.last_status.is_none() {
        m = m.grey();
    }
    m.titled("Stopped reason", t.stopped_reason.as_deref());
    // Which container exited, and how, comes before the facts.
    let containers = container_lines(t);
    if let Some(list) = bullets(&containers, 10) {
        m.section(format!("*Containers*\n{list}"));
    }
    m.fields(vec![
        ("Cluster", t.cluster().map(escape)),
        ("Task", t.task_id().map(code)),
        ("Group", t.group.as_deref().map(escape)),
        (
            "Status",
            Some(match t.desired_status.as_deref() {
                Some(desired) if desired != status => {
                    format!("{} (desired {})", escape(status), escape(desired))
                }
                _ => escape(status),
            }),
        ),
        ("Stop code", t.stop_code.as_deref().map(code)),
        ("Task definition", t.task_definition().map(escape)),
        ("Launch type", t.launch_type.as_deref().map(escape)),
        ("Account", t.account.as_deref().map(escape)),
        ("Region", t.region.as_deref().map(escape)),
        ("Time", when(t.time)),
    ]);
    let partition = partition_of(t.task_arn.as_deref().or(t.cluster_arn.as_deref()));
    let url = t.cluster().zip(t.task_id()).and_then(|(cluster, task)| {
        service_console_url(
            partition,
            t.region.as_deref(),
            &format!(
                "ecs/v2/clusters/{}/tasks/{}/configuration?region={{region}}",
                url_encode(cluster),
                url_encode(task)
            ),
        )
    });
    m.link("Open the task", url);
    m
}

/// An ECS service action or deployment state change: the scheduler's news about a
/// service.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct ServiceAction {
    /// `INFO`, `WARN` or `ERROR`.
    pub event_type: Option<String>,
    /// `SERVICE_TASK_PLACEMENT_FAILURE`, `SERVICE_STEADY_STATE`,
    /// `SERVICE_DEPLOYMENT_FAILED`…
    pub event_name: Option<String>,
    /// A deployment's id, `ecs-svc/…`.
    pub deployment_id: Option<String>,
    pub service_arn: Option<String>,
    pub cluster_arn: Option<String>,
    pub reason: Option<String>,
    pub account: Option<String>,
    pub region: Option<String>,
    pub time: Option<DateTime<Utc>>,
}

fn read_service_action(d: &Obj, event: &Event) -> ServiceAction {
    ServiceAction {
        event_type: str_at(d, "eventType"),
        event_name: str_at(d, "eventName"),
        deployment_id: str_at(d, "deploymentId"),
        service_arn: event
            .resources
            .as_ref()
            .and_then(|r| r.iter().find(|r| r.contains(":service/")))
            .cloned(),
        cluster_arn: str_at(d, "clusterArn"),
        reason: str_at(d, "reason"),
        account: event.account.clone(),
        region: event.region.clone(),
        time: time_at(d, "createdAt").or(event.time),
    }
}

impl ServiceAction {
    /// The service's name, the last part of its ARN.
    pub(crate) fn service(&self) -> Option<&str> {
        self.service_arn
            .as_deref()
            .and_then(|arn| arn.rsplit('/').next())
            .filter(|s| !s.is_empty())
    }

    /// The cluster's name, from the cluster ARN or the service ARN's middle part.
    pub(crate) fn cluster(&self) -> Option<&str> {
        let from_cluster = self.cluster_arn.as_deref().and_then(|a| a.rsplit('/').next());
        let from_service = self.service_arn.as_deref().and_then(|a| {
            let mut parts = a.rsplit('/');
            parts.next();
            parts.next().filter(|p| !p.contains(':'))
        });
        from_cluster.or(from_service).filter(|c| !c.is_empty())
    }

    /// ECS's own level: ERROR (a deployment the circuit breaker failed among them) red,
    /// WARN amber; a steady state or a completed deployment is green, other news neutral.
    pub(crate) fn severity(&self) -> Severity {
        match (self.event_type.as_deref(), self.event_name.as_deref()) {
            (Some("ERROR"), _) | (_, Some("SERVICE_DEPLOYMENT_FAILED")) => Severity::Error,
            (Some("WARN"), _) => Severity::Warning,
            (_, Some("SERVICE_STEADY_STATE" | "SERVICE_DEPLOYMENT_COMPLETED")) => Severity::Ok,
            _ => Severity::Info,
        }
    }
}

notice!(ServiceAction, service_action_card, |it| it.service().unwrap_or_default().to_owned());

/// The action as a card: `ECS service web in prod: task placement failure (RESOURCE:CPU)`.
pub(crate) fn service_action_card(a: &ServiceAction) -> Card {
    let severity = a.severity();
    let name = a.event_name.as_deref().unwrap_or("service action");
    let what = humanise(name.strip_prefix("SERVICE_").unwrap_or(name));
    let service = a.service().unwrap_or("(unknown service)");
    let mut headline = format!("ECS service {}", escape(service));
    if let Some(cluster) = a.cluster() {
        headline.push_str(&format!(" in {}", escape(cluster)));
    }
    headline.push_str(&format!(": {}", escape(&what.to_lowercase())));
    if let Some(reason) = &a.reason {
        headline.push_str(&format!(" ({})", escape_within(reason, 200)));
    }
    let mut m = Card::new(
        severity.emoji("🐳"),
        format!("ECS service {service}: {what}"),
        headline,
        severity,
    );
    m.fields(vec![
        ("Event", a.event_name.as_deref().map(code)),
        ("Deployment", a.deployment_id.as_deref().map(code)),
        ("Level", a.event_type.as_deref().map(escape)),
        ("Reason", a.reason.as_deref().map(code)),
        ("Cluster", a.cluster().map(escape)),
        ("Account", a.account.as_deref().map(escape)),
        ("Region", a.region.as_deref().map(escape)),
        ("Time", when(a.time)),
    ]);
    let partition = partition_of(a.service_arn.as_deref().or(a.cluster_arn.as_deref()));
    let url = a.cluster().zip(a.service()).and_then(|(cluster, service)| {
        service_console_url(
            partition,
            a.region.as_deref(),
            &format!(
                "ecs/v2/clusters/{}/services/{}/events?region={{region}}",
                url_encode(cluster),
                url_encode(service)
            ),
        )
    });
    m.link("Open the service's events", url);
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stopped(stop_code: &str, reason: &str, exits: &[Option<i64>]) -> EcsTask {
        EcsTask {
            last_status: Some("STOPPED".into()),
            stop_code: Some(stop_code.into()),
            stopped_reason: Some(reason.into()),
            containers: exits
                .iter()
                .map(|e| Container {
                    name: Some("app".into()),
                    exit_code: *e,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn task_states_map_to_severities() {
        let exited = "Essential container in task exited";
        for (task, expected) in [
            (
                stopped("EssentialContainerExited", exited, &[Some(1)]),
                Severity::Error,
            ),
            (
                stopped("EssentialContainerExited", exited, &[Some(0), Some(0)]),
                Severity::Ok,
            ),
            (
                stopped(
                    "ServiceSchedulerInitiated",
                    "Task failed ELB health checks in (target-group x)",
                    &[None],
                ),
                Severity::Error,
            ),
            (
                stopped("TaskFailedToStart", "ResourceInitializationError", &[]),
                Severity::Error,
            ),
            (
                stopped("SpotInterruption", "Your Spot Task was interrupted.", &[]),
                Severity::Warning,
            ),
            (
                stopped(
                    "ServiceSchedulerInitiated",
                    "Scaling activity initiated by (deployment ecs-svc/1)",
                    &[Some(0)],
                ),
                Severity::Info,
            ),
            (
                stopped("UserInitiated", "Task stopped by user", &[Some(137)]),
                Severity::Info,
            ),
            (
                stopped("UserInitiated", "Task stopped by user", &[Some(2)]),
                Severity::Error,
            ),
            (
                EcsTask {
                    last_status: Some("RUNNING".into()),
                    ..Default::default()
                },
                Severity::Info,
            ),
        ] {
            assert_eq!(severity(&task), expected, "{task:?}");
        }
    }

    #[test]
    fn the_headline_names_the_reason_and_the_culprit() {
        let mut t = stopped(
            "EssentialContainerExited",
            "Essential container in task exited",
            &[Some(0)],
        );
        t.containers.push(Container {
            name: Some("<worker>".into()),
            exit_code: Some(1),
            ..Default::default()
        });
        assert_eq!(
            card(&t).headline,
            "ECS task stopped: Essential container in task exited (&lt;worker&gt;, exit 1)"
        );
    }

    #[test]
    fn names_come_from_the_arns() {
        let t = EcsTask {
            cluster_arn: Some("arn:aws:ecs:us-east-1:1:cluster/prod".into()),
            task_arn: Some("arn:aws:ecs:us-east-1:1:task/prod/0a1b".into()),
            ..Default::default()
        };
        assert_eq!((t.cluster(), t.task_id()), (Some("prod"), Some("0a1b")));
    }

    #[test]
    fn a_service_action_with_nothing_but_its_type_still_reads() {
        let event: Event = serde_json::from_value(serde_json::json!({
            "detail-type": "ECS Service Action", "source": "aws.ecs", "detail": {"eventType": null}
        }))
        .unwrap();
        let body = from_event(&event, &Obj::new()).unwrap().unwrap();
        let card = body.card();
        assert_eq!(card.severity, Severity::Info);
        assert_eq!(card.headline, "ECS service (unknown service): service action");
        let action = ServiceAction {
            service_arn: Some("arn:aws:ecs:eu-west-1:1:service/prod/web".into()),
            event_type: Some("ERROR".into()),
            ..Default::default()
        };
        assert_eq!((action.cluster(), action.service()), (Some("prod"), Some("web")));
        assert_eq!(action.severity(), Severity::Error);
        // A deployment the circuit breaker failed is red even without its level.
        let failed = ServiceAction {
            event_name: Some("SERVICE_DEPLOYMENT_FAILED".into()),
            reason: Some("ECS deployment circuit breaker: task failed to start.".into()),
            service_arn: Some("arn:aws:ecs:eu-west-1:1:service/prod/web".into()),
            ..Default::default()
        };
        assert_eq!(failed.severity(), Severity::Error);
        assert_eq!(
            service_action_card(&failed).headline,
            "ECS service web in prod: deployment failed (ECS deployment circuit breaker: task failed to start.)"
        );
        // The older service ARN without the cluster.
        let old = ServiceAction {
            service_arn: Some("arn:aws:ecs:eu-west-1:1:service/web".into()),
            ..Default::default()
        };
        assert_eq!((old.cluster(), old.service()), (None, Some("web")));
    }
}
