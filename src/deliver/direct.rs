//! SNS records, a direct alarm action or an EventBridge event: every record attempted, posted
//! to each destination its routes give it, and any failure fails the invocation so that
//! Lambda retries it; the retry posts only where it failed.

use tracing::Instrument;

use super::route::Destination;
use super::screen::filtered;
use super::{delivered_key, unconfirmed, HandlerError, Notifier, Outcome, RecordError};
use crate::ingest::Parsed;
use crate::model::{Body, Notification};
use crate::render::blocks::Block;
use crate::render::describe;
use crate::secret::Call;
use crate::slack::messenger::{Messages, Posted, Spot};

/// What became of one notification at one destination.
pub(super) enum Delivered {
    Posted(Posted),
    /// Another invocation has it (the threads table says so): delivered, or being delivered.
    Duplicate,
}

/// What became of one notification at one destination, before or after posting.
enum Sent {
    Posted(Posted),
    /// Delivered there already: by this instance, or another invocation has it.
    Duplicate,
    /// The route's `states` leave it out.
    Filtered,
}

impl<M: Messages> Notifier<M> {
    /// Every record is attempted; metric graphs wait until every message is out, so that no
    /// graph takes time a message needs.
    pub(super) async fn handle_direct(
        &self,
        records: Parsed,
        call: &Call<'_>,
    ) -> Result<Outcome, HandlerError> {
        let total = records.len();
        let mut outcome = Outcome::default();
        let mut failures: Vec<RecordError> = Vec::new();
        let mut notifications = Vec::new();
        let mut graphs_due: Vec<(usize, Spot, String)> = Vec::new();
        for (index, record) in records.into_iter().enumerate() {
            let notification = match record {
                Ok(n) => n,
                Err(e) => {
                    tracing::error!(record = index, error = %e, "malformed record");
                    failures.push(e.into());
                    continue;
                }
            };
            match self
                .direct_one(index, &notification, &mut outcome, call)
                .await
            {
                Ok(spots) => {
                    let at = notifications.len();
                    graphs_due.extend(spots.into_iter().map(|(spot, route)| (at, spot, route)));
                }
                Err(e) => failures.push(e),
            }
            notifications.push(notification);
        }
        for (at, spot, route) in &graphs_due {
            if let Body::Alarm(alarm) = &notifications[*at].body {
                let span = tracing::info_span!("route", route = route.as_str());
                self.share_graph(alarm, spot, call).instrument(span).await;
            }
        }
        match failures.into_iter().next() {
            None => Ok(outcome),
            Some(first) => Err(HandlerError::NotDelivered {
                failed: total
                    - outcome.delivered
                    - outcome.filtered
                    - outcome.duplicates
                    - outcome.dropped,
                total,
                delivered: outcome.delivered,
                first,
            }),
        }
    }

    /// One notification to each of its destinations, counted in `outcome`; where its graph
    /// is due, with the route that sent it there.
    async fn direct_one(
        &self,
        index: usize,
        n: &Notification,
        outcome: &mut Outcome,
        call: &Call<'_>,
    ) -> Result<Vec<(Spot, String)>, RecordError> {
        let (kind, name) = describe(&n.body);
        if let Some(why) = filtered(&self.settings.filter, n) {
            tracing::info!(record = index, kind, name = %name, reason = why, "filtered out; not posted");
            outcome.filtered += 1;
            return Ok(Vec::new());
        }
        let routing = self.routing(n, call).await;
        if routing.destinations.is_empty() {
            tracing::info!(record = index, kind, name = %name, routes = ?routing.dropped_by, "dropped by its route; not posted");
            outcome.dropped += 1;
            return Ok(Vec::new());
        }
        // One chart for all its destinations, read only when one of them takes charts.
        let chart = match routing
            .destinations
            .iter()
            .any(|d| self.takes_charts(&d.target))
        {
            true => self.chart_for(n, call).await,
            false => None,
        };
        let (mut posted, mut duplicate, mut odd) = (false, false, false);
        let mut spots = Vec::new();
        let mut failure = None;
        for destination in &routing.destinations {
            let span = tracing::info_span!("route", route = destination.route_name());
            let sent = self
                .to_destination(index, n, destination, chart.as_ref(), call)
                .instrument(span)
                .await;
            match sent {
                Ok(Sent::Posted(p)) => {
                    posted = true;
                    odd |= p.unconfirmed.is_some();
                    let graphs_on = destination.settings.graphs != Some(false);
                    let route = destination.route_name().to_owned();
                    spots.extend(p.spot.filter(|_| graphs_on).map(|spot| (spot, route)));
                }
                Ok(Sent::Duplicate) => duplicate = true,
                Ok(Sent::Filtered) => {}
                Err(e) => {
                    failure.get_or_insert(e);
                }
            }
        }
        if let Some(e) = failure {
            return Err(e);
        }
        match (posted, duplicate) {
            (true, _) => {
                outcome.delivered += 1;
                outcome.unconfirmed += usize::from(odd);
            }
            (false, true) => outcome.duplicates += 1,
            (false, false) => outcome.filtered += 1,
        }
        Ok(spots)
    }

    /// `n` to one destination: left out by its route's states, skipped where it was
    /// delivered, else posted.
    async fn to_destination(
        &self,
        index: usize,
        n: &Notification,
        destination: &Destination,
        chart: Option<&Block>,
        call: &Call<'_>,
    ) -> Result<Sent, RecordError> {
        let (kind, name) = describe(&n.body);
        if !destination.takes(n) {
            tracing::info!(record = index, kind, name = %name, reason = "state not in the route's states", "filtered out; not posted");
            return Ok(Sent::Filtered);
        }
        let key =
            n.id.as_deref()
                .map(|id| delivered_key(id, &destination.target));
        if key.as_deref().is_some_and(|k| self.recent().contains(k)) {
            tracing::info!(record = index, kind, name = %name, id = n.id.as_deref(), "already delivered; skipping redelivery");
            return Ok(Sent::Duplicate);
        }
        let posted = match self.deliver(n, destination, chart, call).await {
            Ok(Delivered::Posted(posted)) => posted,
            Ok(Delivered::Duplicate) => {
                // Not remembered as delivered: the other delivery may still fail, and then
                // its retry, wherever it lands, must post the message.
                tracing::info!(record = index, kind, name = %name, id = n.id.as_deref(), "delivered or being delivered by another invocation; skipping");
                return Ok(Sent::Duplicate);
            }
            Err(e) => {
                tracing::error!(record = index, kind, name = %name, error_type = e.error_type(), error = %e, "not delivered");
                return Err(e);
            }
        };
        tracing::info!(record = index, kind, name = %name, attempts = posted.attempts, "posted to Slack");
        if let Some(why) = &posted.unconfirmed {
            unconfirmed(why, &name);
        }
        if let Some(key) = key {
            self.recent().insert(&key);
        }
        Ok(Sent::Posted(posted))
    }
}
