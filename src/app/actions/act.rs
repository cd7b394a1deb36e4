//! What a verified click does. It is authorised first: the bot token's workspace, a channel
//! the notifier posts to, a message the threads table knows, and, to mute, a user who may.
//! Each action is then recorded in the thread's item (a conditional write, so two clicks race
//! fairly and the same click twice acts once), done in CloudWatch and Slack, and taken back
//! from the item when that fails. Every click ends in one audit line.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::click::{Action, Click};
use super::{epoch_now, Actions, Invocation, ANSWER_BUDGET, UNDO_BUDGET, WORK_BUDGET};
use crate::cloudwatch::mute::MuteError;
use crate::render::blocks::{Block, Payload};
use crate::render::controls::{with_line, with_mute_control, ACK_LINE, MUTE_LINE};
use crate::secret::{BotToken, Call, SlackSecret, WebhookUrl};
use crate::slack::messenger::{Messages, SendError, Spot};
use crate::threads::incident::{AlarmRef, Home, Mark, Thread};

/// Rounds of a race on the thread's item before the click gives up.
const MAX_ROUNDS: usize = 3;
/// A user group's members are read again after this.
const MEMBERS_TTL: Duration = Duration::from_secs(60);

/// When each part of a click's handling must be done by.
pub(super) struct Budgets {
    work: Instant,
    undo: Instant,
    answer: Instant,
}

impl Budgets {
    pub(super) fn from(started: Instant, deadline: Instant) -> Self {
        let work = (started + WORK_BUDGET).min(deadline);
        let undo = (work + UNDO_BUDGET).min(deadline);
        Self {
            work,
            undo,
            answer: (undo + ANSWER_BUDGET).min(deadline),
        }
    }
}

/// How a click ended: its audit line's outcome, and what the user is told.
#[derive(Debug)]
enum Outcome {
    Done,
    /// Done in CloudWatch, but the message could not show it.
    Partly(String),
    /// Nothing to do: it was already so.
    Already(String),
    /// The same click, delivered again: acted on once already.
    Duplicate,
    Refused(String),
    Failed(String),
}

impl Outcome {
    fn label(&self) -> &'static str {
        match self {
            Self::Done => "done",
            Self::Partly(_) => "done, message not updated",
            Self::Already(_) => "already so",
            Self::Duplicate => "duplicate",
            Self::Refused(_) => "refused",
            Self::Failed(_) => "failed",
        }
    }

    /// The ephemeral message to the user who clicked, if any.
    fn tell(&self) -> Option<String> {
        match self {
            Self::Done | Self::Duplicate => None,
            Self::Already(text) => Some(format!("ℹ️ {text}")),
            Self::Partly(text) => Some(format!("⚠️ {text}")),
            Self::Refused(why) => Some(format!("🚫 Not allowed: {why}. Nothing was changed.")),
            Self::Failed(why) => Some(format!(
                "⚠️ That did not work: {why}. The message is as it was."
            )),
        }
    }
}

/// `14:02 UTC`.
fn hhmm(epoch: u64) -> String {
    chrono::DateTime::from_timestamp(i64::try_from(epoch).unwrap_or(0), 0)
        .unwrap_or_default()
        .format("%H:%M UTC")
        .to_string()
}

fn unknown_message() -> Outcome {
    Outcome::Refused("this message is not one of the notifier's incidents".into())
}

/// A one-line reply for the thread.
fn note(text: String) -> Payload {
    Payload {
        channel: None,
        text: text.clone(),
        blocks: vec![Block::Raw(
            json!({"type": "section", "text": {"type": "mrkdwn", "text": text}}),
        )],
        attachments: Vec::new(),
    }
}

/// The thread's stored parent message.
fn parent_of(thread: &Thread) -> Result<Value, Outcome> {
    thread
        .parent
        .as_deref()
        .and_then(|p| serde_json::from_str(p).ok())
        .ok_or_else(unknown_message)
}

/// The alarm a mute targets, when this function may mute it: one of its own account and
/// region.
fn mutable<'a>(thread: &'a Thread, home: Option<&Home>) -> Result<&'a AlarmRef, Outcome> {
    let alarm = thread.alarm.as_ref().ok_or_else(|| {
        Outcome::Refused(
            "this incident was posted before actions were on; mute it in the CloudWatch console"
                .into(),
        )
    })?;
    alarm
        .mutable_from(home)
        .map(|()| alarm)
        .map_err(|why| Outcome::Refused(format!("it cannot be muted from here: {why}")))
}

impl Actions {
    /// Authorises `click` and acts on it, by the budgets; logs its audit line and tells the
    /// user what they need to know.
    pub(super) async fn act(
        &self,
        click: &Click,
        secret: &SlackSecret,
        at: &Invocation<'_>,
        budgets: &Budgets,
    ) {
        let call = Call {
            deadline: budgets.work,
            trace_id: None,
            request_id: at.request_id,
        };
        let (alarm, outcome) = match self.authorise(click, secret, &call).await {
            Err(outcome) => (None, outcome),
            Ok(thread) => {
                let alarm = thread.alarm.as_ref().map(|a| a.name.clone());
                (
                    alarm,
                    self.dispatch(click, thread, at, budgets, &call).await,
                )
            }
        };
        let detail = outcome.tell().unwrap_or_default();
        tracing::info!(
            audit = true,
            user = %click.user,
            alarm = alarm.as_deref().unwrap_or("?"),
            action = click.action.name(),
            outcome = outcome.label(),
            at = %chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ"),
            detail,
            "slack action"
        );
        if let Some(text) = outcome.tell() {
            self.tell(click, &text, budgets.answer).await;
        }
    }

    /// The thread `click` acts on, when everything about it checks out.
    async fn authorise(
        &self,
        click: &Click,
        secret: &SlackSecret,
        call: &Call<'_>,
    ) -> Result<Thread, Outcome> {
        let SlackSecret::App { token, channel, .. } = secret else {
            return Err(Outcome::Refused("the notifier is not in app mode".into()));
        };
        let team = self
            .team(token, call.deadline)
            .await
            .map_err(|e| Outcome::Failed(format!("the workspace could not be checked ({e})")))?;
        if click.team != team {
            return Err(Outcome::Refused(
                "this button belongs to another workspace".into(),
            ));
        }
        if click.channel != channel.as_str() && !self.channels.contains(&click.channel) {
            return Err(Outcome::Refused(
                "this channel is not one the notifier posts to".into(),
            ));
        }
        if let Action::Unknown(_) = click.action {
            return Err(Outcome::Refused(
                "this is not one of the incident's buttons".into(),
            ));
        }
        if !click.key.starts_with("alarm#") {
            return Err(unknown_message());
        }
        let thread = match self.store.load(&click.key, call.deadline).await {
            Ok(Some(thread)) => thread,
            Ok(None) => return Err(unknown_message()),
            Err(e) => {
                return Err(Outcome::Failed(format!(
                    "the threads table could not be read ({e})"
                )))
            }
        };
        if thread.ts.as_deref() != Some(click.message_ts.as_str())
            || thread.channel != click.channel
        {
            return Err(unknown_message());
        }
        if !click.action_ts.is_empty()
            && thread.last_action.as_deref() == Some(click.action_ts.as_str())
        {
            return Err(Outcome::Duplicate);
        }
        if matches!(click.action, Action::Mute(_) | Action::Unmute)
            && !self.may_mute(&click.user, token, call.deadline).await?
        {
            return Err(Outcome::Refused(
                "only the users the notifier names may mute or unmute".into(),
            ));
        }
        Ok(thread)
    }

    async fn dispatch(
        &self,
        click: &Click,
        thread: Thread,
        at: &Invocation<'_>,
        budgets: &Budgets,
        call: &Call<'_>,
    ) -> Outcome {
        let done = match click.action {
            Action::Acknowledge => self.acknowledge(click, thread, budgets, call).await,
            Action::Mute(secs) => self.mute(click, thread, secs, at, budgets, call).await,
            Action::Unmute => self.unmute(click, thread, at, budgets, call).await,
            Action::Unknown(_) => Err(Outcome::Refused("unknown action".into())),
        };
        done.unwrap_or_else(|outcome| outcome)
    }

    async fn acknowledge(
        &self,
        click: &Click,
        thread: Thread,
        budgets: &Budgets,
        call: &Call<'_>,
    ) -> Result<Outcome, Outcome> {
        let now = epoch_now();
        let line = format!("👀 Acknowledged by <@{}> at {}", click.user, hhmm(now));
        let change = |t: &Thread| {
            if let Some(ack) = &t.ack {
                return Err(Outcome::Already(format!(
                    "Already acknowledged by <@{}> at {}",
                    ack.by,
                    hhmm(ack.at)
                )));
            }
            let parent = with_line(&parent_of(t)?, ACK_LINE, Some(&line));
            Ok(Thread {
                ack: Some(Mark {
                    by: click.user.clone(),
                    at: now,
                }),
                parent: Some(parent.to_string()),
                last_action: Some(click.action_ts.clone()),
                ..t.clone()
            })
        };
        let (base, next) = self.record(click, thread, change, call.deadline).await?;
        let reply = format!("👀 <@{}> acknowledged this at {}.", click.user, hhmm(now));
        if let Err(e) = self.show(&next, reply, call).await {
            self.restore(&click.key, &base, &next, budgets.undo).await;
            return Err(Outcome::Failed(format!(
                "Slack did not take the update ({e})"
            )));
        }
        Ok(Outcome::Done)
    }

    async fn mute(
        &self,
        click: &Click,
        thread: Thread,
        secs: u64,
        at: &Invocation<'_>,
        budgets: &Budgets,
        call: &Call<'_>,
    ) -> Result<Outcome, Outcome> {
        let alarm = mutable(&thread, at.home)?.clone();
        let now = epoch_now();
        let until = now + secs;
        let line = format!("🔕 Muted until {} by <@{}>", hhmm(until), click.user);
        let change = |t: &Thread| {
            let parent = with_line(&parent_of(t)?, MUTE_LINE, Some(&line));
            Ok(Thread {
                mute: Some(Mark {
                    by: click.user.clone(),
                    at: until,
                }),
                parent: Some(with_mute_control(&parent, &click.key, true).to_string()),
                last_action: Some(click.action_ts.clone()),
                ..t.clone()
            })
        };
        let (base, next) = self.record(click, thread, change, call.deadline).await?;
        if let Err(e) = self
            .mutes
            .mute(&alarm, &click.user, now, until, budgets.work)
            .await
        {
            self.undo_mute(&alarm, &e, budgets).await;
            self.restore(&click.key, &base, &next, budgets.undo).await;
            return Err(Outcome::Failed(format!(
                "CloudWatch did not mute the alarm ({e})"
            )));
        }
        let reply = format!(
            "🔕 <@{}> muted this alarm's notifications until {}.",
            click.user,
            hhmm(until)
        );
        if let Err(e) = self.show(&next, reply, call).await {
            return Ok(Outcome::Partly(format!(
                "The alarm is muted until {}, but the message could not show it ({e})",
                hhmm(until)
            )));
        }
        Ok(Outcome::Done)
    }

    /// A mute that ran out of time may still have reached CloudWatch: it is deleted, so a
    /// mute the user was told failed does not hold.
    async fn undo_mute(&self, alarm: &AlarmRef, error: &MuteError, budgets: &Budgets) {
        if matches!(error, MuteError::Late { .. }) {
            if let Err(e) = self.mutes.unmute(alarm, budgets.undo).await {
                tracing::warn!(error = %e, alarm = %alarm.name, "a mute that ran out of time could not be undone; it may hold until it expires");
            }
        }
    }

    async fn unmute(
        &self,
        click: &Click,
        thread: Thread,
        at: &Invocation<'_>,
        budgets: &Budgets,
        call: &Call<'_>,
    ) -> Result<Outcome, Outcome> {
        let alarm = mutable(&thread, at.home)?.clone();
        let change = |t: &Thread| {
            if t.mute.is_none() {
                return Err(Outcome::Already("This alarm is not muted".into()));
            }
            let parent = with_line(&parent_of(t)?, MUTE_LINE, None);
            Ok(Thread {
                mute: None,
                parent: Some(with_mute_control(&parent, &click.key, false).to_string()),
                last_action: Some(click.action_ts.clone()),
                ..t.clone()
            })
        };
        let (base, next) = self.record(click, thread, change, call.deadline).await?;
        if let Err(e) = self.mutes.unmute(&alarm, budgets.work).await {
            self.restore(&click.key, &base, &next, budgets.undo).await;
            return Err(Outcome::Failed(format!(
                "CloudWatch did not unmute the alarm ({e})"
            )));
        }
        let reply = format!("🔔 <@{}> unmuted this alarm.", click.user);
        if let Err(e) = self.show(&next, reply, call).await {
            return Ok(Outcome::Partly(format!(
                "The alarm is unmuted, but the message could not show it ({e})"
            )));
        }
        Ok(Outcome::Done)
    }

    /// Writes `change` of the thread over the version read, reading again when another write
    /// came first; the thread as it was and as written.
    async fn record(
        &self,
        click: &Click,
        mut current: Thread,
        change: impl Fn(&Thread) -> Result<Thread, Outcome>,
        deadline: Instant,
    ) -> Result<(Thread, Thread), Outcome> {
        for _ in 0..MAX_ROUNDS {
            let next = Thread {
                version: current.version + 1,
                ..change(&current)?
            };
            match self
                .store
                .save(&click.key, &next, Some(current.version), deadline)
                .await
            {
                Ok(true) => return Ok((current, next)),
                Ok(false) => {}
                Err(e) => {
                    return Err(Outcome::Failed(format!(
                        "the threads table could not be written ({e})"
                    )))
                }
            }
            current = match self.store.load(&click.key, deadline).await {
                Ok(Some(t)) if t.last_action.as_deref() == Some(click.action_ts.as_str()) => {
                    return Err(Outcome::Duplicate)
                }
                Ok(Some(t)) => t,
                Ok(None) => return Err(unknown_message()),
                Err(e) => {
                    return Err(Outcome::Failed(format!(
                        "the threads table could not be read ({e})"
                    )))
                }
            };
        }
        Err(Outcome::Failed(
            "the incident kept changing; try again".into(),
        ))
    }

    /// Puts `before` back, over what this click wrote (`after`), when the click failed after
    /// it was recorded.
    async fn restore(&self, key: &str, before: &Thread, after: &Thread, deadline: Instant) {
        let back = Thread {
            version: after.version + 1,
            ..before.clone()
        };
        match self.store.save(key, &back, Some(after.version), deadline).await {
            Ok(true) => {}
            Ok(false) => tracing::warn!("the incident changed before a failed action could be taken back from the threads table"),
            Err(e) => tracing::warn!(error = %e, "a failed action could not be taken back from the threads table"),
        }
    }

    /// The parent as `thread` now has it, and `reply` in its thread.
    async fn show(&self, thread: &Thread, reply: String, call: &Call<'_>) -> Result<(), SendError> {
        let (Some(ts), Ok(parent)) = (thread.ts.clone(), parent_of(thread)) else {
            return Ok(());
        };
        let spot = Spot {
            channel: thread.channel.clone(),
            ts,
        };
        self.messenger.update(&spot, parent, call).await?;
        if let Err(e) = self.messenger.reply(&note(reply), &spot, false, call).await {
            tracing::warn!(error = %e, "the message is updated, but the reply in its thread could not be posted");
        }
        Ok(())
    }

    /// The bot token's workspace, asked of `auth.test` once per process.
    async fn team(&self, token: &BotToken, deadline: Instant) -> Result<String, String> {
        if let Some(team) = self.team.lock().unwrap_or_else(|e| e.into_inner()).clone() {
            return Ok(team);
        }
        let slack = &self.messenger.slack;
        let reply = slack
            .call(
                "auth.test",
                token,
                crate::slack::ApiBody::Form(&[]),
                deadline,
            )
            .await
            .map_err(|e| e.to_string())?;
        let team = reply.body["team_id"]
            .as_str()
            .ok_or("auth.test named no team")?
            .to_owned();
        *self.team.lock().unwrap_or_else(|e| e.into_inner()) = Some(team.clone());
        Ok(team)
    }

    /// Whether `user` may mute: anyone without a list; else on `ACTIONS_ALLOWED_USERS`, or in
    /// `ACTIONS_ALLOWED_USERGROUP` (`usergroups.users.list`, read at most once a minute).
    async fn may_mute(
        &self,
        user: &str,
        token: &BotToken,
        deadline: Instant,
    ) -> Result<bool, Outcome> {
        let config = &self.config;
        if config.anyone_may_mute() || config.allowed_users.iter().any(|u| u == user) {
            return Ok(true);
        }
        let Some(group) = &config.allowed_usergroup else {
            return Ok(false);
        };
        if let Some((read, members)) = &*self.members.lock().unwrap_or_else(|e| e.into_inner()) {
            if read.elapsed() < MEMBERS_TTL {
                return Ok(members.iter().any(|m| m == user));
            }
        }
        let fields = [("usergroup", group.as_str())];
        let reply = self
            .messenger
            .slack
            .call(
                "usergroups.users.list",
                token,
                crate::slack::ApiBody::Form(&fields),
                deadline,
            )
            .await
            .map_err(|e| {
                Outcome::Failed(format!("the allowed user group could not be read ({e})"))
            })?;
        let members: Vec<String> = reply.body["users"]
            .as_array()
            .map(|users| {
                users
                    .iter()
                    .filter_map(|u| u.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let allowed = members.iter().any(|m| m == user);
        *self.members.lock().unwrap_or_else(|e| e.into_inner()) = Some((Instant::now(), members));
        Ok(allowed)
    }

    /// Tells the user who clicked, and no one else (`response_type: ephemeral`).
    async fn tell(&self, click: &Click, text: &str, deadline: Instant) {
        let Some(url) = &click.response_url else {
            tracing::warn!("the click has no response_url; its user cannot be told");
            return;
        };
        let body = json!({"response_type": "ephemeral", "replace_original": false, "text": text});
        let body = serde_json::to_vec(&body).unwrap_or_default();
        if let Err(e) = self
            .messenger
            .slack
            .post(&WebhookUrl::new(url.as_str()), &body, deadline)
            .await
        {
            tracing::warn!(error = %e, "the user who clicked could not be told the outcome");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_as_utc_minutes() {
        assert_eq!(hhmm(1_796_565_750), "14:02 UTC");
    }

    #[test]
    fn budgets_fit_slacks_three_seconds() {
        let start = Instant::now();
        let b = Budgets::from(start, start + Duration::from_secs(900));
        assert!(b.work < b.undo && b.undo < b.answer);
        assert!(b.answer - start < Duration::from_secs(3));
        let short = Budgets::from(start, start + Duration::from_secs(1));
        assert_eq!(short.answer, start + Duration::from_secs(1));
    }

    #[test]
    fn only_this_accounts_and_regions_alarms_can_be_muted() {
        let mut thread = Thread::claim("C0ALERTS01", 100, None);
        let home = |account: &str, region: &str| Home {
            account: account.into(),
            region: region.into(),
        };
        assert!(matches!(
            mutable(&thread, Some(&home("123456789012", "eu-west-1"))),
            Err(Outcome::Refused(_))
        ));
        thread.alarm = Some(AlarmRef {
            name: "cpu-high".into(),
            account: Some("123456789012".into()),
            region: Some("eu-west-1".into()),
        });
        assert!(mutable(&thread, Some(&home("123456789012", "eu-west-1"))).is_ok());
        for other in [
            home("210987654321", "eu-west-1"),
            home("123456789012", "us-east-1"),
        ] {
            assert!(
                matches!(mutable(&thread, Some(&other)), Err(Outcome::Refused(_))),
                "{other:?}"
            );
        }
        assert!(matches!(mutable(&thread, None), Err(Outcome::Refused(_))));
    }

    #[test]
    fn the_user_is_told_of_anything_but_success() {
        assert_eq!(Outcome::Done.tell(), None);
        assert_eq!(Outcome::Duplicate.tell(), None);
        for o in [
            Outcome::Refused("x".into()),
            Outcome::Failed("y".into()),
            Outcome::Already("z".into()),
        ] {
            assert!(o.tell().is_some(), "{o:?}");
        }
    }
}
