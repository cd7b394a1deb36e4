//! One Slack thread per alarm incident: what to do with an alarm, given the thread the table
//! holds for it. Pure: the table and Slack are [`crate::threads`] and the handler's business.

use std::time::Duration;

use serde_json::{json, Value};

use crate::model::{Alarm, AlarmState};

/// Items expire (DynamoDB's TTL, `expires_at`) this long after their last write.
pub(crate) const ITEM_TTL: Duration = Duration::from_secs(7 * 24 * 3600);
/// A parent claimed but still not posted after this is taken as abandoned (its instance died).
pub(crate) const CLAIM_STALE: Duration = Duration::from_secs(60);
/// `THREAD_REOPEN_MINUTES`' default.
pub(crate) const DEFAULT_REOPEN: Duration = Duration::from_secs(60 * 60);
/// The parent's status line is a context block with this id, so a later one replaces it.
pub(crate) const STATUS_BLOCK_ID: &str = "incident-status";

/// How threads behave (`THREAD_REOPEN_MINUTES`, `THREAD_BROADCAST`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ThreadSettings {
    /// A new ALARM less than this after the OK that resolved a thread reopens it (flapping);
    /// zero never reopens.
    pub reopen: Duration,
    /// Replies are also sent to the channel (`reply_broadcast`).
    pub broadcast: bool,
}

impl Default for ThreadSettings {
    fn default() -> Self {
        Self {
            reopen: DEFAULT_REOPEN,
            broadcast: false,
        }
    }
}

/// An incident's thread, as stored. Times are epoch seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Thread {
    pub channel: String,
    /// The parent's `ts`; `None` while the instance that claimed the thread posts the parent.
    pub ts: Option<String>,
    /// When the incident (the first ALARM) opened.
    pub opened_at: u64,
    /// When an OK or INSUFFICIENT_DATA resolved it; `None` while it is open.
    pub resolved_at: Option<u64>,
    /// ALARM notifications in this thread.
    pub alarms: u32,
    /// ALARM periods in this thread: more than one means it flapped.
    pub cycles: u32,
    /// The parent's payload as posted, kept so that `chat.update` keeps its content.
    pub parent: Option<String>,
    /// Bumped on every write; each write is conditional on the version read.
    pub version: u64,
    pub claimed_at: u64,
    pub expires_at: u64,
    /// The alarm itself, as its notification named it: what a mute targets. `None` in items
    /// written before actions.
    pub alarm: Option<AlarmRef>,
    /// Who acknowledged the incident from Slack, and when.
    pub ack: Option<Mark>,
    /// Who muted the alarm from Slack, and until when.
    pub mute: Option<Mark>,
    /// The last click acted on (Slack's `action_ts`), so the same click delivered twice acts once.
    pub last_action: Option<String>,
}

/// An alarm by name, in its account and region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AlarmRef {
    pub name: String,
    pub account: Option<String>,
    pub region: Option<String>,
}

impl AlarmRef {
    pub(crate) fn of(alarm: &Alarm) -> Self {
        Self {
            name: alarm.name.clone(),
            account: alarm.account.clone(),
            region: alarm.region.clone(),
        }
    }

    /// Whether the function at `home` can mute this alarm: one of its own account, in its own
    /// region (a mute rule targets alarms of its account and region, and the function's role
    /// may make rules there only). `Err` says why not, for the message.
    pub(crate) fn mutable_from(&self, home: Option<&Home>) -> Result<(), String> {
        let Some(home) = home else {
            return Err("the notifier does not know its own AWS account yet".into());
        };
        match (&self.account, &self.region) {
            (None, _) => Err("the notification does not say which AWS account the alarm is in".into()),
            (Some(account), _) if *account != home.account => Err(format!(
                "this alarm is in AWS account {account}, and the notifier mutes alarms of its own account ({}) only",
                home.account
            )),
            (_, Some(region)) if *region != home.region => Err(format!(
                "this alarm is in {region}, and the notifier mutes alarms of its own region ({}) only",
                home.region
            )),
            _ => Ok(()),
        }
    }
}

/// Where the function runs: its account and region, from its ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Home {
    pub account: String,
    pub region: String,
}

impl Home {
    /// From a Lambda function's ARN (`arn:aws:lambda:REGION:ACCOUNT:function:NAME`).
    pub(crate) fn from_arn(arn: &str) -> Option<Self> {
        let parts: Vec<&str> = arn.split(':').collect();
        match parts.as_slice() {
            ["arn", _, _, region, account, ..] if !region.is_empty() && !account.is_empty() => {
                Some(Self {
                    account: (*account).to_owned(),
                    region: (*region).to_owned(),
                })
            }
            _ => None,
        }
    }
}

/// Someone's action on a thread: the Slack user, and a time in epoch seconds (when they
/// acknowledged; until when a mute holds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Mark {
    pub by: String,
    pub at: u64,
}

/// The two times a decision needs, in epoch seconds: the wall clock (claims, expiry), and when
/// the alarm's state changed, from the notification itself, so that a late delivery still
/// measures the incident by its own times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Clock {
    pub now: u64,
    pub changed: u64,
}

impl Clock {
    /// `changed` falls back to `now` for a notification without a time.
    pub(crate) fn new(now: u64, changed: Option<u64>) -> Self {
        Self {
            now,
            changed: changed.unwrap_or(now),
        }
    }
}

/// A state change delivered at once.
impl From<u64> for Clock {
    fn from(now: u64) -> Self {
        Self::new(now, None)
    }
}

impl Thread {
    /// A thread claimed at `clock.now`, opened by the state change at `clock.changed`, whose
    /// parent is yet to be posted, replacing version `replacing`.
    pub(crate) fn claim(channel: &str, clock: impl Into<Clock>, replacing: Option<u64>) -> Self {
        let Clock { now, changed } = clock.into();
        Self {
            channel: channel.to_owned(),
            ts: None,
            opened_at: changed,
            resolved_at: None,
            alarms: 1,
            cycles: 1,
            parent: None,
            version: replacing.map_or(1, |v| v + 1),
            claimed_at: now,
            expires_at: now + ITEM_TTL.as_secs(),
            alarm: None,
            ack: None,
            mute: None,
            last_action: None,
        }
    }

    /// What an item the table holds under version `version`, but that cannot be read, stands
    /// for: a thread long expired, which the next write replaces under that version.
    pub(crate) fn unreadable(version: u64) -> Self {
        Self {
            channel: String::new(),
            ts: None,
            opened_at: 0,
            resolved_at: None,
            alarms: 0,
            cycles: 0,
            parent: None,
            version,
            claimed_at: 0,
            expires_at: 0,
            alarm: None,
            ack: None,
            mute: None,
            last_action: None,
        }
    }

    /// This thread, about `alarm` (what a mute from Slack targets).
    pub(crate) fn about(self, alarm: &Alarm) -> Self {
        Self {
            alarm: Some(AlarmRef::of(alarm)),
            ..self
        }
    }

    /// This thread once its parent is posted as `ts`, with `parent` as its payload.
    pub(crate) fn posted(&self, channel: &str, ts: &str, parent: String) -> Self {
        Self {
            channel: channel.to_owned(),
            ts: Some(ts.to_owned()),
            parent: Some(parent),
            version: self.version + 1,
            ..self.clone()
        }
    }
}

/// What to do with one alarm notification.
// Made and matched once per notification: boxing the thread would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Post it on its own, as without threads: a state that opens nothing, or no live thread.
    TopLevel,
    /// Claim a new thread and post its parent. `replacing`: the version of a dead item the
    /// claim overwrites (conditional on it); `None` when there is none (`attribute_not_exists`).
    Open { replacing: Option<u64> },
    /// Another instance is posting this thread's parent: read the item again shortly.
    Wait,
    /// Store `next` (conditional on the version read), reply in the thread, and put `status`
    /// at the top of the parent when there is one.
    Reply {
        next: Thread,
        status: Option<String>,
    },
}

/// The decision for an alarm in `state` at `now`, posted to `channel`, given the `stored` item.
pub(crate) fn decide(
    stored: Option<&Thread>,
    state: &AlarmState,
    channel: &str,
    clock: impl Into<Clock>,
    settings: &ThreadSettings,
) -> Decision {
    let Clock { now, changed } = clock.into();
    let alarm = match state {
        AlarmState::Alarm => true,
        AlarmState::Ok | AlarmState::InsufficientData => false,
        AlarmState::Unknown | AlarmState::Other(_) => return Decision::TopLevel,
    };
    let open = |stored: Option<&Thread>| {
        if alarm {
            Decision::Open {
                replacing: stored.map(|t| t.version),
            }
        } else {
            Decision::TopLevel
        }
    };
    // Expired (TTL deletion lags) or for another channel: as good as absent, but still there.
    let Some(t) = stored.filter(|t| t.expires_at > now && t.channel == channel) else {
        return open(stored);
    };
    let Some(_) = &t.ts else {
        return if now.saturating_sub(t.claimed_at) >= CLAIM_STALE.as_secs() {
            open(stored)
        } else {
            Decision::Wait
        };
    };
    let mut next = Thread {
        version: t.version + 1,
        expires_at: now + ITEM_TTL.as_secs(),
        ..t.clone()
    };
    let reply = |next: Thread, status: String| Decision::Reply {
        next,
        status: Some(status),
    };
    match (t.resolved_at, alarm) {
        (None, true) => {
            next.alarms += 1;
            let status = format!("🔴 ALARM again ({} time)", ordinal(next.alarms));
            reply(next, status)
        }
        (None, false) => {
            next.resolved_at = Some(changed);
            let status = resolved_line(state, changed.saturating_sub(t.opened_at), t.cycles);
            reply(next, status)
        }
        (Some(at), true) if changed.saturating_sub(at) < settings.reopen.as_secs() => {
            next.resolved_at = None;
            next.alarms += 1;
            next.cycles += 1;
            let status = format!(
                "🔁 Flapping: ALARM again {} after it recovered (cycle {})",
                human(changed.saturating_sub(at)),
                next.cycles
            );
            reply(next, status)
        }
        (Some(at), false) if changed.saturating_sub(at) < settings.reopen.as_secs() => {
            // Another resolution (INSUFFICIENT_DATA then OK, say): the outcome is the latest.
            let status = resolved_line(state, at.saturating_sub(t.opened_at), t.cycles);
            reply(next, status)
        }
        (Some(_), true) => open(stored),
        (Some(_), false) => Decision::TopLevel,
    }
}

/// `✅ Resolved after 14 min`, or `⚪ INSUFFICIENT_DATA after …`, with the cycles if it flapped.
fn resolved_line(state: &AlarmState, lasted: u64, cycles: u32) -> String {
    let head = match state {
        AlarmState::Ok => "✅ Resolved".to_owned(),
        other => format!("⚪ {}", other.as_str()),
    };
    let flapped = if cycles > 1 {
        format!(" (flapped: {cycles} cycles)")
    } else {
        String::new()
    };
    format!("{head} after {}{flapped}", human(lasted))
}

/// `45 s`, `14 min`, `2 h 5 min`, `3 d 4 h`.
pub(crate) fn human(secs: u64) -> String {
    match secs {
        0..=59 => format!("{secs} s"),
        60..=3599 => format!("{} min", secs / 60),
        3600..=86_399 => match (secs % 3600) / 60 {
            0 => format!("{} h", secs / 3600),
            m => format!("{} h {m} min", secs / 3600),
        },
        _ => match (secs % 86_400) / 3600 {
            0 => format!("{} d", secs / 86_400),
            h => format!("{} d {h} h", secs / 86_400),
        },
    }
}

/// `1st`, `2nd`, `3rd`, `4th` … `11th`, `21st`.
pub(crate) fn ordinal(n: u32) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// The item key of an alarm's thread: its ARN, or its account, region and name without one.
pub(crate) fn thread_key(alarm: &Alarm) -> String {
    match &alarm.arn {
        Some(arn) => format!("alarm#{arn}"),
        None => format!(
            "alarm#{}:{}:{}",
            alarm.account.as_deref().unwrap_or_default(),
            alarm.region.as_deref().unwrap_or_default(),
            alarm.name
        ),
    }
}

/// The parent's payload with `status` as a context line above its own blocks (replacing an
/// earlier status line), for `chat.update`. Its content is otherwise kept as posted.
pub(crate) fn with_status(parent: &Value, status: &str) -> Value {
    let mut updated = parent.clone();
    let line = json!({
        "type": "context",
        "block_id": STATUS_BLOCK_ID,
        "elements": [{"type": "mrkdwn", "text": status}],
    });
    let mut blocks = match updated.get_mut("blocks").map(Value::take) {
        Some(Value::Array(blocks)) => blocks,
        _ => Vec::new(),
    };
    blocks.retain(|b| b["block_id"] != STATUS_BLOCK_ID);
    // Slack's limit is 50 blocks a message.
    blocks.truncate(crate::render::blocks::limits::BLOCKS - 1);
    blocks.insert(0, line);
    updated["blocks"] = Value::Array(blocks);
    updated
}

#[cfg(test)]
mod tests {
    use super::*;

    const C: &str = "C0ALERTS01";
    const T0: u64 = 1_795_594_531;

    fn settings() -> ThreadSettings {
        ThreadSettings::default()
    }

    fn posted(now: u64) -> Thread {
        Thread::claim(C, now, None).posted(C, "1.0001", r#"{"text":"cpu-high"}"#.into())
    }

    fn reply(d: Decision) -> (Thread, String) {
        match d {
            Decision::Reply {
                next,
                status: Some(s),
            } => (next, s),
            other => panic!("expected a reply with a status, got {other:?}"),
        }
    }

    #[test]
    fn home_is_read_from_the_functions_arn() {
        let home = Home::from_arn("arn:aws:lambda:eu-west-1:123456789012:function:notifier:live");
        assert_eq!(
            home,
            Some(Home {
                account: "123456789012".into(),
                region: "eu-west-1".into(),
            })
        );
        for bad in [
            "",
            "function",
            "arn:aws:lambda::123456789012:function:x",
            "arn:aws:lambda:eu-west-1",
        ] {
            assert_eq!(Home::from_arn(bad), None, "{bad}");
        }
    }

    #[test]
    fn an_alarm_without_a_thread_opens_one_and_an_ok_without_one_is_top_level() {
        let s = settings();
        assert_eq!(
            decide(None, &AlarmState::Alarm, C, T0, &s),
            Decision::Open { replacing: None }
        );
        for state in [
            AlarmState::Ok,
            AlarmState::InsufficientData,
            AlarmState::Unknown,
        ] {
            assert_eq!(decide(None, &state, C, T0, &s), Decision::TopLevel);
        }
        let t = posted(T0);
        assert_eq!(
            decide(Some(&t), &AlarmState::Other("X".into()), C, T0, &s),
            Decision::TopLevel
        );
    }

    #[test]
    fn a_late_delivery_is_measured_by_the_state_changes_own_times() {
        // The ALARM changed state at T0 but arrived 40 min late; the OK changed 10 min after
        // the ALARM and arrived an hour after that.
        let claim = Thread::claim(C, Clock::new(T0 + 2400, Some(T0)), None);
        assert_eq!((claim.opened_at, claim.claimed_at), (T0, T0 + 2400));
        let t = claim.posted(C, "1.0001", "{}".into());
        let (next, status) = reply(decide(
            Some(&t),
            &AlarmState::Ok,
            C,
            Clock::new(T0 + 4200, Some(T0 + 600)),
            &settings(),
        ));
        assert_eq!(status, "✅ Resolved after 10 min");
        assert_eq!(next.resolved_at, Some(T0 + 600));
        assert_eq!(
            next.expires_at,
            T0 + 4200 + ITEM_TTL.as_secs(),
            "expiry by the wall clock"
        );
        // An ALARM 20 min after that OK reopens the thread, however late it arrives.
        let (_, status) = reply(decide(
            Some(&next),
            &AlarmState::Alarm,
            C,
            Clock::new(T0 + 9000, Some(T0 + 1800)),
            &settings(),
        ));
        assert_eq!(
            status,
            "🔁 Flapping: ALARM again 20 min after it recovered (cycle 2)"
        );
    }

    #[test]
    fn ok_resolves_the_open_thread_with_how_long_it_lasted() {
        let t = posted(T0);
        let (next, status) = reply(decide(
            Some(&t),
            &AlarmState::Ok,
            C,
            T0 + 14 * 60 + 5,
            &settings(),
        ));
        assert_eq!(status, "✅ Resolved after 14 min");
        assert_eq!(next.resolved_at, Some(T0 + 845));
        assert_eq!(next.version, t.version + 1);
        assert_eq!(next.ts, t.ts);
        assert_eq!(next.expires_at, T0 + 845 + ITEM_TTL.as_secs());
        let (_, status) = reply(decide(
            Some(&t),
            &AlarmState::InsufficientData,
            C,
            T0 + 30,
            &settings(),
        ));
        assert_eq!(status, "⚪ INSUFFICIENT_DATA after 30 s");
    }

    #[test]
    fn an_alarm_while_open_replies_and_counts() {
        let t = posted(T0);
        let (next, status) = reply(decide(
            Some(&t),
            &AlarmState::Alarm,
            C,
            T0 + 60,
            &settings(),
        ));
        assert_eq!(status, "🔴 ALARM again (2nd time)");
        let (next, status) = reply(decide(
            Some(&next),
            &AlarmState::Alarm,
            C,
            T0 + 90,
            &settings(),
        ));
        assert_eq!(status, "🔴 ALARM again (3rd time)");
        assert_eq!((next.alarms, next.cycles, next.resolved_at), (3, 1, None));
    }

    #[test]
    fn an_alarm_soon_after_resolution_reopens_the_thread_as_flapping() {
        let s = settings();
        let t = posted(T0);
        let (resolved, _) = reply(decide(Some(&t), &AlarmState::Ok, C, T0 + 600, &s));
        let at = T0 + 600 + 3 * 60;
        let (reopened, status) = reply(decide(Some(&resolved), &AlarmState::Alarm, C, at, &s));
        assert_eq!(
            status,
            "🔁 Flapping: ALARM again 3 min after it recovered (cycle 2)"
        );
        assert_eq!(reopened.resolved_at, None);
        assert_eq!(reopened.ts, t.ts);
        let (_, status) = reply(decide(Some(&reopened), &AlarmState::Ok, C, at + 60, &s));
        assert_eq!(status, "✅ Resolved after 14 min (flapped: 2 cycles)");
        // Just inside the window it still reopens; from its end, a new thread replaces the old.
        let edge = T0 + 600 + s.reopen.as_secs();
        assert!(matches!(
            decide(Some(&resolved), &AlarmState::Alarm, C, edge - 1, &s),
            Decision::Reply { .. }
        ));
        assert_eq!(
            decide(Some(&resolved), &AlarmState::Alarm, C, edge, &s),
            Decision::Open {
                replacing: Some(resolved.version)
            }
        );
        assert_eq!(
            decide(Some(&resolved), &AlarmState::Ok, C, edge, &s),
            Decision::TopLevel
        );
    }

    #[test]
    fn a_zero_reopen_window_never_reopens() {
        let s = ThreadSettings {
            reopen: Duration::ZERO,
            broadcast: false,
        };
        let (resolved, _) = reply(decide(Some(&posted(T0)), &AlarmState::Ok, C, T0 + 60, &s));
        assert!(matches!(
            decide(Some(&resolved), &AlarmState::Alarm, C, T0 + 60, &s),
            Decision::Open { .. }
        ));
    }

    #[test]
    fn a_claim_being_posted_is_waited_for_until_it_is_stale() {
        let claim = Thread::claim(C, T0, None);
        let s = settings();
        assert_eq!(
            decide(Some(&claim), &AlarmState::Alarm, C, T0 + 1, &s),
            Decision::Wait
        );
        assert_eq!(
            decide(Some(&claim), &AlarmState::Ok, C, T0 + 1, &s),
            Decision::Wait
        );
        assert_eq!(
            decide(Some(&claim), &AlarmState::Alarm, C, T0 + 60, &s),
            Decision::Open {
                replacing: Some(claim.version)
            }
        );
        assert_eq!(
            decide(Some(&claim), &AlarmState::Ok, C, T0 + 60, &s),
            Decision::TopLevel
        );
    }

    #[test]
    fn expired_items_and_other_channels_count_as_no_thread() {
        let t = posted(T0);
        let s = settings();
        assert_eq!(
            decide(Some(&t), &AlarmState::Alarm, C, t.expires_at, &s),
            Decision::Open {
                replacing: Some(t.version)
            }
        );
        assert_eq!(
            decide(Some(&t), &AlarmState::Alarm, "C0OTHER001", T0 + 1, &s),
            Decision::Open {
                replacing: Some(t.version)
            }
        );
        assert_eq!(
            decide(Some(&t), &AlarmState::Ok, "C0OTHER001", T0 + 1, &s),
            Decision::TopLevel
        );
    }

    #[test]
    fn claims_and_posts_bump_versions() {
        let c = Thread::claim(C, T0, Some(7));
        assert_eq!((c.version, c.ts.as_deref(), c.alarms), (8, None, 1));
        let p = c.posted(C, "2.0", "{}".into());
        assert_eq!((p.version, p.ts.as_deref()), (9, Some("2.0")));
    }

    #[test]
    fn durations_and_ordinals_read_well() {
        let cases = [
            (0, "0 s"),
            (59, "59 s"),
            (60, "1 min"),
            (3599, "59 min"),
            (3600, "1 h"),
            (3900, "1 h 5 min"),
            (86_400, "1 d"),
            (90_000, "1 d 1 h"),
        ];
        for (secs, text) in cases {
            assert_eq!(human(secs), text);
        }
        let ords: Vec<String> = [1, 2, 3, 4, 11, 12, 13, 21, 22, 101, 111]
            .into_iter()
            .map(ordinal)
            .collect();
        assert_eq!(
            ords,
            [
                "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st",
                "111th"
            ]
        );
    }

    #[test]
    fn the_key_is_the_arn_or_a_stable_identity() {
        let mut a = crate::sources::cloudwatch_alarm::tests::metric_alarm();
        a.arn = Some("arn:aws:cloudwatch:us-east-1:1:alarm:cpu-high".into());
        assert_eq!(
            thread_key(&a),
            "alarm#arn:aws:cloudwatch:us-east-1:1:alarm:cpu-high"
        );
        a.arn = None;
        a.account = Some("1".into());
        a.region = Some("us-east-1".into());
        assert_eq!(thread_key(&a), "alarm#1:us-east-1:cpu-high");
    }

    #[test]
    fn the_status_goes_on_top_of_the_parent_and_replaces_an_earlier_one() {
        let parent = json!({"text": "cpu-high", "blocks": [{"type": "section"}], "attachments": [{"color": "#d00"}]});
        let once = with_status(&parent, "🔴 ALARM again (2nd time)");
        let twice = with_status(&once, "✅ Resolved after 3 min");
        assert_eq!(twice["text"], "cpu-high");
        assert_eq!(twice["attachments"], parent["attachments"]);
        let blocks = twice["blocks"].as_array().unwrap();
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[0]["elements"][0]["text"], "✅ Resolved after 3 min");
        assert_eq!(blocks[1], json!({"type": "section"}));
        let full = json!({"blocks": vec![json!({"type": "divider"}); 50]});
        assert_eq!(
            with_status(&full, "x")["blocks"].as_array().unwrap().len(),
            50
        );
    }
}
