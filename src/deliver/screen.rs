//! Which notifications are posted at all: the alarm filters (`NOTIFY_STATES`, the name
//! patterns), and the record of what this instance already delivered. One verdict for the
//! direct and the queued path alike.

use std::collections::{HashSet, VecDeque};

use crate::model::{AlarmState, Body, Notification};

/// Which alarm notifications are posted.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Filter {
    /// `NOTIFY_STATES`; empty means every state.
    pub states: Vec<AlarmState>,
    /// `ALARM_NAME_INCLUDE`: glob patterns; empty means every name.
    pub include: Vec<String>,
    /// `ALARM_NAME_EXCLUDE`
    pub exclude: Vec<String>,
}

impl Filter {
    /// `None` when the alarm is posted, else why not.
    pub(crate) fn reject_reason(&self, name: &str, state: &AlarmState) -> Option<&'static str> {
        if !self.states.is_empty() && !self.states.contains(state) {
            return Some("state not in NOTIFY_STATES");
        }
        if !self.include.is_empty() && !self.include.iter().any(|p| glob_match(p, name)) {
            return Some("name not matched by ALARM_NAME_INCLUDE");
        }
        if self.exclude.iter().any(|p| glob_match(p, name)) {
            return Some("name matched by ALARM_NAME_EXCLUDE");
        }
        None
    }
}

/// `*` matches any run of characters, `?` one character; everything else is literal.
pub(crate) fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// A bounded record of recently delivered notification ids, oldest forgotten first. Each id
/// is kept as a 128-bit digest, so the record costs about 40 bytes an id whatever the ids'
/// length (4 MiB for [`RECENT_IDS`]); two ids sharing a digest, which would make one look
/// delivered, is as likely as guessing a random 128-bit number.
pub(crate) struct RecentIds {
    capacity: usize,
    order: VecDeque<u128>,
    set: HashSet<u128>,
}

/// Notification ids each instance remembers as delivered, at about 40 bytes each (4 MiB in
/// all). infra/ sets the queue's visibility timeout to about 3 minutes (6 × the function's
/// 30 s, plus the batching window); at the storm pace measured (1,000 alarms in about 12 s),
/// a warm instance takes in some 15,000 notifications in that time, and this is over six
/// times as many: about 20 minutes of a storm.
pub(crate) const RECENT_IDS: usize = 100_000;

/// Two SipHash digests with fixed, different keys: the same id has the same digest in every
/// process, and nothing here needs a secret key.
fn digest(id: &str) -> u128 {
    use std::hash::{Hash, Hasher};
    let half = |salt: u8| {
        let mut h = std::hash::DefaultHasher::new();
        salt.hash(&mut h);
        id.hash(&mut h);
        h.finish()
    };
    (u128::from(half(1)) << 64) | u128::from(half(2))
}

impl RecentIds {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            order: VecDeque::new(),
            set: HashSet::new(),
        }
    }

    pub(crate) fn contains(&self, id: &str) -> bool {
        self.set.contains(&digest(id))
    }

    pub(crate) fn insert(&mut self, id: &str) {
        let d = digest(id);
        if !self.set.insert(d) {
            return;
        }
        if self.order.len() == self.capacity {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
        self.order.push_back(d);
    }
}

/// Why `filter` leaves `n` out, if it does: filters apply to alarms only.
pub(super) fn filtered(filter: &Filter, n: &Notification) -> Option<&'static str> {
    match &n.body {
        Body::Alarm(a) => filter.reject_reason(&a.name, &a.state),
        Body::Other(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("*", ""));
        assert!(glob_match("a*c", "abbbc"));
        assert!(glob_match("a?c", "abc"));
        assert!(!glob_match("a?c", "ac"));
        assert!(glob_match("*本*", "日本語"));
        assert!(!glob_match("prod", "prod-x"));
    }

    #[test]
    fn recent_ids_are_bounded() {
        let mut r = RecentIds::new(2);
        r.insert("a");
        r.insert("b");
        r.insert("a");
        assert!(r.contains("a") && r.contains("b"));
        r.insert("c");
        assert!(!r.contains("a"));
        assert!(r.contains("b") && r.contains("c"));
    }

    #[test]
    fn recent_ids_hold_what_a_warm_instance_sees_in_a_storm() {
        const { assert!(RECENT_IDS >= 100_000) };
        let mut r = RecentIds::new(RECENT_IDS);
        let id = |i: usize| format!("5f2c7a1e-0000-4000-8000-{i:012}");
        for i in 0..RECENT_IDS {
            r.insert(&id(i));
        }
        assert!((0..RECENT_IDS).all(|i| r.contains(&id(i))));
        assert!(!r.contains(&id(RECENT_IDS)));
        r.insert(&id(RECENT_IDS));
        assert!(!r.contains(&id(0)) && r.contains(&id(1)));
    }

    #[test]
    fn filters_apply_to_alarms_only() {
        let filter = Filter {
            states: vec![AlarmState::Alarm],
            ..Filter::default()
        };
        let alarm = |state: &str| {
            let message = format!(r#"{{"AlarmName":"a","NewStateValue":"{state}"}}"#);
            let body = crate::sources::parse_sns_message(None, &message, None).unwrap();
            Notification::new(Some("id".into()), body)
        };
        assert_eq!(filtered(&filter, &alarm("ALARM")), None);
        assert_eq!(
            filtered(&filter, &alarm("OK")),
            Some("state not in NOTIFY_STATES")
        );
        let text = Notification::new(
            None,
            crate::sources::parse_sns_message(None, "hello", None).unwrap(),
        );
        assert_eq!(filtered(&filter, &text), None);
    }
}
