//! slack-alarm-notifier: CloudWatch alarms and other AWS notifications, delivered to Slack.
//!
//! Data flows one way, and the folders say so:
//!
//! - `app`: the ways in (the Lambda runtime, the command line), configuration, logging and
//!   the clients built once;
//! - `ingest`: the envelopes (SNS, the direct alarm action, EventBridge, an SQS batch);
//! - `sources`: one module per AWS source, which reads what is inside into a
//!   [`model::Notification`] and makes its card;
//! - `render`: the card as Block Kit, and digests;
//! - `deliver`: what happens to each notification (filters, redelivery, threads, graphs);
//! - `slack`, `threads`, `cloudwatch`, `secret`: the edges (Slack, DynamoDB, CloudWatch,
//!   Secrets Manager); `rotation` renews the Slack token; `net` is the one HTTP stack.
//!
//! The public surface is what the binary, the tests and the fuzz target use.
#![warn(unreachable_pub)]

mod app;
mod cloudwatch;
mod deliver;
mod ingest;
pub mod model;
mod net;
mod render;
mod rotation;
mod secret;
mod slack;
mod sources;
mod threads;

pub use app::main_entry;
pub use app::preview::{render_event, render_event_with_metric_data};
pub use ingest::parse_event_bytes;
pub use net::{sdk_http_client, tls_config};
pub use render::digest::plan;
pub use render::{check_limits, colour, render, RenderOptions};
pub use sources::parse_sns_message;
