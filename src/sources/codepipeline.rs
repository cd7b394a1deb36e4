//! CodePipeline executions (`aws.codepipeline`): the pipeline, stage and action
//! "… Execution State Change" events.

use chrono::{DateTime, Utc};

use super::shared::*;
use super::{Body, Event, Source};
use crate::model::card::{Card, Severity};
use crate::model::mrkdwn::escape;
use super::ParseError;

pub(crate) const SOURCE: Source = Source::events("codepipeline", from_event);

const DETAIL_TYPES: [(&str, Level); 3] = [
    (
        "CodePipeline Pipeline Execution State Change",
        Level::Pipeline,
    ),
    ("CodePipeline Stage Execution State Change", Level::Stage),
    ("CodePipeline Action Execution State Change", Level::Action),
];

fn from_event(event: &Event, detail: &Obj) -> Option<Result<Body, ParseError>> {
    if event.source != "aws.codepipeline" {
        return None;
    }
    let level = DETAIL_TYPES
        .iter()
        .find(|(t, _)| *t == event.detail_type)?
        .1;
    Some(Ok(Body::new(read(level, detail, event))))
}

/// Which part of the pipeline changed state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Level {
    #[default]
    Pipeline,
    Stage,
    Action,
}

/// A state change of a pipeline execution, or of one of its stages or actions.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct PipelineExecution {
    pub level: Level,
    pub pipeline: Option<String>,
    pub execution_id: Option<String>,
    pub stage: Option<String>,
    pub action: Option<String>,
    pub state: Option<String>,
    /// The action's provider, e.g. `CodeBuild` or `CodeDeploy`.
    pub provider: Option<String>,
    /// What the action's provider said of its run (`execution-result`).
    pub summary: Option<String>,
    pub error_code: Option<String>,
    pub attempt: Option<u64>,
    pub account: Option<String>,
    pub region: Option<String>,
    pub partition: Option<String>,
    pub time: Option<DateTime<Utc>>,
}

fn read(level: Level, d: &Obj, event: &Event) -> PipelineExecution {
    let result = obj_at(d, "execution-result");
    let arn = event.resources.as_ref().and_then(|r| r.first());
    PipelineExecution {
        level,
        pipeline: str_at(d, "pipeline"),
        execution_id: str_at(d, "execution-id"),
        stage: str_at(d, "stage"),
        action: str_at(d, "action"),
        state: str_at(d, "state").map(|s| s.to_ascii_uppercase()),
        provider: obj_at(d, "type").and_then(|t| str_at(t, "provider")),
        summary: result.and_then(|r| str_at(r, "external-execution-summary")),
        error_code: result.and_then(|r| str_at(r, "error-code")),
        attempt: uint_at(d, "pipeline-execution-attempt"),
        account: event.account.clone(),
        region: event.region.clone().or_else(|| str_at(d, "region")),
        partition: arn
            .and_then(|a| parse_arn(a))
            .map(|a| a.partition.to_owned()),
        time: event.time,
    }
}

/// How bad a pipeline, stage or action state is.
pub(crate) fn severity(state: &str) -> Severity {
    match state {
        "FAILED" => Severity::Error,
        "CANCELED" | "SUPERSEDED" | "STOPPED" | "ABANDONED" => Severity::Warning,
        "SUCCEEDED" => Severity::Ok,
        _ => Severity::Info,
    }
}

notice!(PipelineExecution, card, |it| it.pipeline.clone().unwrap_or_default());

/// The execution as a card: what changed, its state, and a link to the execution.
pub(crate) fn card(p: &PipelineExecution) -> Card {
    let state = p.state.as_deref().unwrap_or("UNKNOWN");
    let severity = severity(state);
    let emoji = severity.emoji("🚀");
    let pipeline = p.pipeline.as_deref().unwrap_or("pipeline");
    // `myPipeline`, `myPipeline stage Deploy`, `myPipeline action Deploy/Deploy`.
    let subject = |esc: fn(&str) -> String| {
        let mut s = esc(pipeline);
        match (p.level, &p.stage, &p.action) {
            (Level::Stage, Some(stage), _) => s += &format!(" stage {}", esc(stage)),
            (Level::Action, stage, Some(action)) => {
                s += " action ";
                if let Some(stage) = stage {
                    s += &format!("{}/", esc(stage));
                }
                s += &esc(action);
            }
            _ => {}
        }
        s
    };
    let mut headline = format!("CodePipeline {} {}", subject(escape), escape(state));
    if let Some(summary) = p.summary.as_deref().filter(|_| severity != Severity::Ok) {
        headline += &format!(": {}", escape(summary));
    }
    let mut m = Card::new(
        emoji,
        format!("CodePipeline {} {state}", subject(str::to_owned)),
        headline,
        severity,
    );
    if p.state.is_none() {
        m = m.grey();
    }
    m.titled("Result", p.summary.as_deref());
    m.fields(vec![
        ("Pipeline", p.pipeline.as_deref().map(escape)),
        ("State", Some(escape(state))),
        ("Stage", p.stage.as_deref().map(escape)),
        ("Action", p.action.as_deref().map(escape)),
        ("Provider", p.provider.as_deref().map(escape)),
        ("Error code", p.error_code.as_deref().map(code)),
        ("Execution", p.execution_id.as_deref().map(code)),
        (
            "Attempt",
            p.attempt.filter(|a| *a > 1).map(|a| a.to_string()),
        ),
        ("Account", p.account.as_deref().map(escape)),
        ("Region", p.region.as_deref().map(escape)),
        ("Time", when(p.time)),
    ]);
    let url = p.pipeline.as_deref().and_then(|name| {
        let path = match p.execution_id.as_deref() {
            Some(id) => format!(
                "codesuite/codepipeline/pipelines/{}/executions/{}/timeline?region={{region}}",
                url_encode(name),
                url_encode(id)
            ),
            None => format!(
                "codesuite/codepipeline/pipelines/{}/view?region={{region}}",
                url_encode(name)
            ),
        };
        service_console_url(
            p.partition.as_deref().unwrap_or("aws"),
            p.region.as_deref(),
            &path,
        )
    });
    m.link("Open the execution", url);
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_map_to_severities() {
        for (state, expected) in [
            ("FAILED", Severity::Error),
            ("CANCELED", Severity::Warning),
            ("SUPERSEDED", Severity::Warning),
            ("STOPPED", Severity::Warning),
            ("ABANDONED", Severity::Warning),
            ("SUCCEEDED", Severity::Ok),
            ("STARTED", Severity::Info),
            ("RESUMED", Severity::Info),
            ("STOPPING", Severity::Info),
        ] {
            assert_eq!(severity(state), expected, "{state}");
        }
    }

    #[test]
    fn an_action_names_its_stage_and_escapes_user_text() {
        let p = PipelineExecution {
            level: Level::Action,
            pipeline: Some("web".into()),
            stage: Some("Deploy".into()),
            action: Some("Blue<Green>".into()),
            state: Some("FAILED".into()),
            summary: Some("<!here> broke".into()),
            ..Default::default()
        };
        let card = card(&p);
        assert_eq!(
            card.headline,
            "CodePipeline web action Deploy/Blue&lt;Green&gt; FAILED: &lt;!here&gt; broke"
        );
        assert_eq!(
            card.title,
            "CodePipeline web action Deploy/Blue<Green> FAILED"
        );
        assert_eq!(card.severity, Severity::Error);
    }

    #[test]
    fn without_a_state_the_card_is_grey() {
        let card = card(&PipelineExecution::default());
        assert_eq!(card.colour, crate::model::card::colour::NO_DATA);
    }
}
