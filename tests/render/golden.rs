//! Golden files: a change in rendering shows up as a reviewed snapshot diff.

use slack_alarm_notifier::render::{check_limits, colour};

use slack_alarm_notifier::model::Body;

use crate::{event_files, render_file, visible_texts};

#[test]
fn every_event_file_matches_its_snapshot() {
    for path in event_files() {
        let payloads = render_file(&path);
        let dir = path
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let name = format!("{dir}__{}", path.file_stem().unwrap().to_string_lossy());
        insta::assert_json_snapshot!(name, payloads);
    }
}

#[test]
fn every_payload_is_within_slacks_limits() {
    for path in event_files() {
        for payload in render_file(&path) {
            check_limits(&payload).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        }
    }
}

/// Alarms from every partition link to their own console and carry a state colour.
#[test]
fn alarm_payloads_link_to_the_right_console_with_a_state_colour() {
    let mut alarms = 0;
    for path in event_files() {
        let raw = std::fs::read_to_string(&path).unwrap();
        for (notification, payload) in crate::notifications(&path) {
            if !matches!(notification.body, Body::Alarm(_)) {
                continue;
            }
            let body = payload.to_string();
            let url = body
                .split("\"url\":\"")
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .unwrap_or_else(|| panic!("{}: no console link", path.display()));
            let expected_host = if raw.contains("arn:aws-cn:") {
                ".console.amazonaws.cn/"
            } else if raw.contains("arn:aws-us-gov:") {
                "https://console.amazonaws-us-gov.com/"
            } else {
                ".console.aws.amazon.com/"
            };
            assert!(
                url.contains(expected_host) && url.contains("/cloudwatch/home?region="),
                "{}: {url}",
                path.display()
            );
            let colour = payload["attachments"][0]["color"].as_str().unwrap();
            assert!(
                [colour::ALARM, colour::OK, colour::NO_DATA].contains(&colour),
                "{}: {colour}",
                path.display()
            );
            // No raw JSON for alarms: the message is prose and fields, not the SNS body.
            for text in visible_texts(&payload) {
                for key in [
                    "AlarmName",
                    "NewStateValue",
                    "\"Trigger\"",
                    "alarmData",
                    "{\"",
                ] {
                    assert!(
                        !text.contains(key),
                        "{}: raw JSON {key:?} shown in {text:?}",
                        path.display()
                    );
                }
            }
            alarms += 1;
        }
    }
    assert!(alarms >= 14, "only {alarms} alarm payloads checked");
}

#[test]
fn other_aws_sources_get_their_own_layouts() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for (file, header) in [
        (
            "tests/fixtures/sns-health.json",
            "AWS Health: EC2 AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED",
        ),
        (
            "tests/fixtures/eventbridge-guardduty.json",
            "GuardDuty HIGH",
        ),
        ("tests/fixtures/sns-securityhub.json", "Security Hub HIGH"),
        (
            "tests/fixtures/eventbridge-backup-failed.json",
            "AWS Backup: Backup job FAILED",
        ),
        (
            "tests/fixtures/sns-backup-text.json",
            "AWS Backup: Backup job COMPLETED",
        ),
        (
            "tests/fixtures/sns-budgets.json",
            "AWS Budgets: monthly-cost",
        ),
        (
            "tests/fixtures/eventbridge-generic.json",
            "EC2 Instance State-change Notification",
        ),
    ] {
        let payload = &render_file(&root.join(file))[0];
        let shown = payload["blocks"][0]["text"]["text"].as_str().unwrap();
        assert!(shown.contains(header), "{file}: header {shown:?}");
        for text in visible_texts(payload) {
            assert!(!text.contains("{\""), "{file}: raw JSON in {text:?}");
        }
    }
}

#[test]
fn hostile_text_is_escaped_and_cut() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let payload = &render_file(&root.join("tests/fixtures/sns-alarm-hostile.json"))[0];
    let body = visible_texts(payload).concat();
    for live in ["<!channel>", "<!here>", "<@U", "<https://evil"] {
        assert!(!body.contains(live), "live {live:?} in {body}");
    }
    assert!(body.contains("&lt;!channel&gt;"));
    // The header is plain_text: shown as written, never parsed into a mention.
    assert_eq!(payload["blocks"][0]["text"]["type"], "plain_text");
    assert!(body.contains("… (truncated)"));
}

#[test]
fn unicode_names_render_intact() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let payload = &render_file(&root.join("tests/fixtures/sns-alarm-unicode.json"))[0];
    let header = payload["blocks"][0]["text"]["text"].as_str().unwrap();
    assert!(header.contains("本番-API-レイテンシ高"), "{header}");
}

/// CodePipeline, CodeBuild and ECS task events: the colour says how bad, the headline says
/// what, which one and what happened, and no JSON shows through.
#[test]
fn developer_tool_events_get_a_severity_and_a_headline() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    for (file, colour, headline) in [
        (
            "codepipeline/pipeline-failed.json",
            colour::ALARM,
            "CodePipeline orders-api-release FAILED",
        ),
        (
            "codepipeline/pipeline-succeeded.json",
            colour::OK,
            "CodePipeline orders-api-release SUCCEEDED",
        ),
        (
            "codepipeline/action-failed.json",
            colour::ALARM,
            "CodePipeline orders-api-release action Deploy/DeployToProd FAILED: Deployment d-4K7QX2B9Z failed: too many instances failed the AfterInstall lifecycle event.",
        ),
        (
            "codepipeline/sns-stage-failed.json",
            colour::ALARM,
            "CodePipeline orders-api-release stage Deploy FAILED",
        ),
        (
            "codebuild/build-failed.json",
            colour::ALARM,
            "CodeBuild checkout-service #41 build FAILED in BUILD: COMMAND_EXECUTION_ERROR: Error while executing command: npm test -- --ci. Reason: exit status 1",
        ),
        (
            "codebuild/build-succeeded.json",
            colour::OK,
            "CodeBuild checkout-service #42 build SUCCEEDED",
        ),
        (
            "ecs/task-stopped-exit-1.json",
            colour::ALARM,
            "ECS task stopped: Essential container in task exited (worker, exit 1)",
        ),
        (
            "ecs/task-running.json",
            colour::INFO,
            "ECS task RUNNING: service:invoice-worker in prod-workers",
        ),
    ] {
        let payloads = render_file(&root.join(file));
        assert_eq!(payloads.len(), 1, "{file}");
        let payload = &payloads[0];
        assert_eq!(payload["attachments"][0]["color"], colour, "{file}");
        assert_eq!(payload["text"], headline, "{file}");
        for text in visible_texts(payload) {
            assert!(
                !text.contains("\":"),
                "{file}: JSON key syntax in {text:?}"
            );
        }
    }
}

/// CloudFormation, AWS Config and ACM events: the colour and the phone line say what happened
/// to which one, and no JSON shows through.
#[test]
fn stack_compliance_and_certificate_events_read_at_a_glance() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    for (file, colour, text) in [
        (
            "cloudformation/stack-update-rollback.json",
            colour::ALARM,
            "CloudFormation orders-api UPDATE_ROLLBACK_COMPLETE: The following resource(s) failed to update: [OrdersFunction].",
        ),
        (
            "cloudformation/sns-stack-rollback-complete.json",
            colour::ALARM,
            "CloudFormation billing-worker ROLLBACK_COMPLETE: The following resource(s) failed to create: [WorkerQueue, WorkerRole]. Rollback requested by user.",
        ),
        (
            "cloudformation/stack-create-complete.json",
            colour::OK,
            "CloudFormation web-frontend CREATE_COMPLETE",
        ),
        (
            "cloudformation/resource-create-failed.json",
            colour::ALARM,
            "CloudFormation orders-api: ReceiptsBucket (AWS::S3::Bucket) CREATE_FAILED: Resource handler returned message: \"orders-receipts-prod already exists\" (RequestToken: 6f1a3c5e-7b9d-4f2a-8c4e-0a2b4c6d8e0f, HandlerErrorCode: AlreadyExists)",
        ),
        (
            "cloudformation/drift-detected.json",
            colour::WARNING,
            "CloudFormation orders-api drift: DRIFTED (2 resources)",
        ),
        (
            "config/non-compliant.json",
            colour::WARNING,
            "Config rule s3-bucket-versioning-enabled: AWS::S3::Bucket orders-receipts-prod NON_COMPLIANT (was COMPLIANT)",
        ),
        (
            "config/compliant-again.json",
            colour::OK,
            "Config rule s3-bucket-versioning-enabled: AWS::S3::Bucket orders-receipts-prod COMPLIANT (was NON_COMPLIANT)",
        ),
        (
            "acm/expiring-in-10-days.json",
            colour::WARNING,
            "ACM certificate shop.example.com expires in 10 days",
        ),
        (
            "acm/sns-expiring-in-3-days.json",
            colour::ALARM,
            "ACM certificate api.example.com expires in 3 days",
        ),
        (
            "acm/expired.json",
            colour::ALARM,
            "ACM certificate internal.orders.example.com expired",
        ),
    ] {
        let payloads = render_file(&root.join(file));
        assert_eq!(payloads.len(), 1, "{file}");
        let payload = &payloads[0];
        assert_eq!(payload["attachments"][0]["color"], colour, "{file}");
        assert_eq!(payload["text"], text, "{file}");
        for shown in visible_texts(payload) {
            assert!(!shown.contains("\":"), "{file}: JSON key in {shown:?}");
        }
    }
}
