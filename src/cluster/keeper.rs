//! The lease keeper: the task a node runs for each room it owns, renewing the room's
//! [`Lease`] and telling the room at once when it may no longer act as the owner.
//!
//! [`LeaseKeeper::start`] takes the lease and spawns a task that renews it every
//! [`KeeperConfig::renew_every`] (`(ttl - margin) / 3` by default), and retries every
//! [`KeeperConfig::retry_every`] after a failed renewal while the local deadline has not
//! passed. The task publishes a [`KeeperState`] on a `tokio::sync::watch`:
//!
//! - [`KeeperState::Held`]: the room is ours until the local deadline.
//! - [`KeeperState::Expired`]: the local deadline passed before a renewal succeeded. The
//!   database may still say the room is ours, but the room must stop acknowledging at once.
//!   The transition happens *at* the deadline even while a renewal is stuck (the renewal is
//!   raced against `sleep_until(deadline)`), so a stalled database never lets a node act on a
//!   lease that may already be another node's. The task goes on renewing: a renewal that still
//!   succeeds makes the room [`KeeperState::Held`] again at the same epoch (the database's
//!   lease never lapsed, so nobody else owned the room meanwhile); one that finds the lease
//!   gone ends in [`KeeperState::Lost`].
//! - [`KeeperState::Lost`]: final; the task has ended.
//!
//! The room acknowledges an op only if [`LeaseKeeper::lease`] is `Some` and the op's
//! [`OpLog::append`](super::oplog::OpLog::append) used that lease's epoch.
//! [`LeaseKeeper::release`] gives the room up at once (on unload); dropping the keeper only
//! stops the task, and the lease then expires after its ttl.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::sleep_until;
use uuid::Uuid;

use super::lease::{Lease, Leases};
use super::pg::PgError;

/// How long leases last and how often the keeper renews them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeeperConfig {
    /// How long a lease lasts on the database's clock. Default 10 s.
    pub ttl: Duration,
    /// How long before `ttl` the owner stops on its own (the local deadline is request time +
    /// ttl - margin). The keeper uses this margin whatever the [`Leases`] it is given were
    /// built with. Default 2 s.
    pub margin: Duration,
    /// Time between renewals: at most `(ttl - margin) / 3`, so that two renewals can fail in
    /// a row and a third still comes before the local deadline. Keep
    /// [`PgOptions::op_timeout`](super::pg::PgOptions::op_timeout) shorter. Default 2.67 s.
    pub renew_every: Duration,
    /// Time before retrying a renewal that failed (the database was unreachable or slow)
    /// while the local deadline has not passed; after it, retries come every `renew_every`.
    /// Default `renew_every / 10`, at least 10 ms.
    pub retry_every: Duration,
}

impl KeeperConfig {
    /// A config for leases of `ttl` with `margin`, renewed every `(ttl - margin) / 3` and
    /// retried every tenth of that (at least 10 ms) after a failure.
    pub fn new(ttl: Duration, margin: Duration) -> KeeperConfig {
        let renew_every = (ttl.saturating_sub(margin) / 3).max(Duration::from_millis(1));
        KeeperConfig {
            ttl,
            margin,
            renew_every,
            retry_every: (renew_every / 10).max(Duration::from_millis(10)),
        }
    }
}

impl Default for KeeperConfig {
    fn default() -> Self {
        KeeperConfig::new(Duration::from_secs(10), Duration::from_secs(2))
    }
}

/// Where a keeper's hold on its room stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeeperState {
    /// The room is ours at `epoch` until `deadline` (this node's monotonic clock), unless
    /// renewed before.
    Held {
        /// The fencing token of the lease.
        epoch: i64,
        /// The local deadline of the last acquire or renewal that succeeded.
        deadline: Instant,
    },
    /// The local deadline passed before a renewal succeeded: stop acknowledging and acting as
    /// owner now. Renewals go on; the state becomes `Held` again (same epoch) or `Lost`.
    Expired,
    /// The lease is gone for good and the keeper's task has ended.
    Lost {
        /// Why.
        reason: LostReason,
    },
}

/// Why a keeper lost its room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LostReason {
    /// A renewal found the lease no longer ours at our epoch: another node took the room, or
    /// the lease had expired on the database's clock.
    NotRenewed,
    /// [`LeaseKeeper::release`] gave it up.
    Released,
}

/// What the keeper's task and its handle share.
#[derive(Debug)]
struct Shared {
    /// The latest lease the database granted (kept after the local deadline, for
    /// [`LeaseKeeper::release`]); [`LeaseKeeper::lease`] hands it out only while `Held` and valid.
    lease: Mutex<Lease>,
    /// The state, written by the task only (and by `release`); the room holds receivers.
    state_tx: watch::Sender<KeeperState>,
}

impl Shared {
    fn lease(&self) -> Lease {
        self.lease
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn set_lease(&self, lease: Lease) {
        *self.lease.lock().unwrap_or_else(PoisonError::into_inner) = lease;
    }

    fn is_held(&self) -> bool {
        matches!(*self.state_tx.borrow(), KeeperState::Held { .. })
    }

    /// Publishes `state` (the sender is held here, so this cannot fail).
    fn publish(&self, state: KeeperState) {
        self.state_tx.send_replace(state);
    }
}

/// Keeps one room's lease while this node owns the room: a renewing task and its handle.
/// Dropping it stops the task without releasing the lease (which then expires).
#[derive(Debug)]
pub struct LeaseKeeper {
    /// The leases, for `release`.
    leases: Leases,
    /// The lease and the state, shared with the task.
    shared: Arc<Shared>,
    /// The renewing task; aborted on `release` and on drop.
    task: JoinHandle<()>,
}

impl LeaseKeeper {
    /// Takes `room` for `node` with `config.ttl` and starts renewing it: `None` if another
    /// node holds the room. Must run inside a tokio runtime.
    pub async fn start(
        leases: Leases,
        room: Uuid,
        node: &str,
        config: KeeperConfig,
    ) -> Result<Option<LeaseKeeper>, PgError> {
        let leases = leases.with_margin(config.margin);
        let requested = Instant::now();
        let Some(lease) = leases.acquire(room, node, config.ttl).await? else {
            return Ok(None);
        };
        let (state_tx, _) = watch::channel(KeeperState::Held {
            epoch: lease.epoch(),
            deadline: lease.deadline(),
        });
        let shared = Arc::new(Shared {
            lease: Mutex::new(lease),
            state_tx,
        });
        let task = tokio::spawn(renew(
            leases.clone(),
            shared.clone(),
            config,
            requested + config.renew_every,
        ));
        Ok(Some(LeaseKeeper {
            leases,
            shared,
            task,
        }))
    }

    /// The room.
    pub fn room(&self) -> Uuid {
        self.shared.lease().room()
    }

    /// The epoch the room is held at (a renewal never changes it), whatever the state now.
    pub fn epoch(&self) -> i64 {
        self.shared.lease().epoch()
    }

    /// The current lease while this node may act as the room's owner (state `Held` and
    /// [`Lease::valid`] now); `None` once expired, lost or released. Append with it, and
    /// acknowledge only what such an append committed.
    pub fn lease(&self) -> Option<Lease> {
        if !self.shared.is_held() {
            return None;
        }
        Some(self.shared.lease()).filter(|l| l.valid(Instant::now()))
    }

    /// The state now.
    pub fn state(&self) -> KeeperState {
        *self.shared.state_tx.borrow()
    }

    /// A receiver of every change of state (the room selects on `changed()`).
    pub fn subscribe(&self) -> watch::Receiver<KeeperState> {
        self.shared.state_tx.subscribe()
    }

    /// Stops renewing and gives the room up so that another node may take it at once (at the
    /// next epoch); the state becomes `Lost { reason: Released }`. True if the lease was still
    /// ours on the database.
    pub async fn release(mut self) -> Result<bool, PgError> {
        self.task.abort();
        // Wait until it has stopped, so that it cannot publish `Held` after `Lost` (an abort
        // takes effect at the task's next await). It cannot fail otherwise: it never panics.
        let _ = (&mut self.task).await;
        let lease = self.shared.lease();
        self.shared.publish(KeeperState::Lost {
            reason: LostReason::Released,
        });
        // A renewal the abort cut off may still run on the server: it is harmless, since
        // renewing requires an unexpired lease and this expires it, in whichever order.
        self.leases.release(&lease).await
    }
}

impl Drop for LeaseKeeper {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The keeper's task: renews at `next` and every `renew_every` after, until the lease is lost.
async fn renew(leases: Leases, shared: Arc<Shared>, config: KeeperConfig, mut next: Instant) {
    loop {
        let lease = shared.lease();
        guarded(&shared, &lease, sleep_until(next.into())).await;
        let requested = Instant::now();
        match guarded(&shared, &lease, leases.renew(&lease)).await {
            Ok(Some(renewed)) => {
                let held = KeeperState::Held {
                    epoch: renewed.epoch(),
                    deadline: renewed.deadline(),
                };
                shared.set_lease(renewed);
                shared.publish(held);
                next = requested + config.renew_every;
            }
            Ok(None) => {
                tracing::warn!(room = %lease.room(), epoch = lease.epoch(), "room lease lost");
                shared.publish(KeeperState::Lost {
                    reason: LostReason::NotRenewed,
                });
                return;
            }
            Err(e) => {
                let now = Instant::now();
                let wait = if lease.valid(now) {
                    config.retry_every
                } else {
                    config.renew_every
                };
                tracing::warn!(room = %lease.room(), "cannot renew the room's lease: {e}");
                next = now + wait;
            }
        }
    }
}

/// Runs `work` to its end, but publishes `Expired` the moment `lease`'s local deadline passes
/// if it is still `Held` then, whether `work` is a wait or a renewal stuck on the database.
async fn guarded<F: std::future::Future>(shared: &Shared, lease: &Lease, work: F) -> F::Output {
    tokio::pin!(work);
    if shared.is_held() {
        tokio::select! {
            biased;
            out = &mut work => return out,
            () = sleep_until(lease.deadline().into()) => {
                tracing::warn!(room = %lease.room(), epoch = lease.epoch(),
                    "room lease not renewed by its local deadline: no longer acting as owner");
                shared.publish(KeeperState::Expired);
            }
        }
    }
    work.await
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::KeeperConfig;

    /// The derived interval leaves room for two failed renewals before the local deadline.
    #[test]
    fn renewals_come_three_times_before_the_local_deadline() {
        let c = KeeperConfig::new(Duration::from_secs(10), Duration::from_secs(1));
        assert_eq!(c.renew_every, Duration::from_secs(3));
        assert_eq!(c.retry_every, Duration::from_millis(300));
        let tiny = KeeperConfig::new(Duration::from_millis(1), Duration::from_secs(1));
        assert_eq!(tiny.renew_every, Duration::from_millis(1));
        assert_eq!(tiny.retry_every, Duration::from_millis(10));
        assert_eq!(KeeperConfig::default().ttl, Duration::from_secs(10));
    }
}
