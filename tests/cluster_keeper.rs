//! The lease keeper against a real PostgreSQL (started by `tests/services` in a temp dir on a
//! free port): it holds a room across renewals, stops acting as owner at its local deadline when
//! the database is down or its renewals are stuck, and gives the room up on release.

#[path = "services/mod.rs"]
mod services;

use std::time::{Duration, Instant, SystemTime};

use inkroom::cluster::{
    AppendError, KeeperConfig, KeeperState, LeaseKeeper, LogOp, LostReason, PgOptions,
};
use services::cluster::Cluster;
use tokio::sync::watch;
use uuid::Uuid;

/// A stuck renewal waits on the server up to `op_timeout`, well past the keepers' local
/// deadlines below, so the deadline is what ends their hold, not the timeout.
fn options() -> PgOptions {
    PgOptions {
        max_size: 8,
        connect_timeout: Duration::from_secs(2),
        op_timeout: Duration::from_secs(5),
    }
}

/// Leases of 2 s with a 400 ms margin: a renewal every 533 ms, a local deadline 1.6 s after
/// each renewal was sent.
fn config() -> KeeperConfig {
    KeeperConfig::new(Duration::from_secs(2), Duration::from_millis(400))
}

/// Bound on waiting for anything (a state change, an expiry).
const PATIENCE: Duration = Duration::from_secs(30);

async fn cluster() -> Cluster {
    Cluster::start(options(), config().margin).await
}

impl Cluster {
    /// Starts a keeper for `room` as `node`; fails the test if the room is held.
    async fn keep(&self, room: Uuid, node: &str) -> LeaseKeeper {
        LeaseKeeper::start(self.leases.clone(), room, node, config())
            .await
            .expect("acquire")
            .expect("the room is free")
    }

    /// Whether `node` can take the room now (a plain acquire, with the keepers' ttl).
    async fn acquire(&self, room: Uuid, node: &str) -> Option<i64> {
        self.leases
            .acquire(room, node, config().ttl)
            .await
            .expect("acquire")
            .map(|l| l.epoch())
    }

    /// Polls `acquire` until `node` gets the room; its epoch.
    async fn acquire_when_free(&self, room: Uuid, node: &str) -> i64 {
        let give_up = Instant::now() + PATIENCE;
        loop {
            if let Ok(Some(lease)) = self.leases.acquire(room, node, config().ttl).await {
                return lease.epoch();
            }
            assert!(Instant::now() < give_up, "{node} never got room {room}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// The next state the keeper publishes (fails the test after `PATIENCE`).
/// Waits until the keeper goes from `Held` to `Expired` (it may renew meanwhile); the
/// deadline of the last `Held`. Any other state fails the test, saying `while`.
async fn await_expiry(rx: &mut watch::Receiver<KeeperState>, while_: &str) -> Instant {
    let mut last = *rx.borrow_and_update();
    loop {
        match next_state(rx).await {
            KeeperState::Expired => match last {
                KeeperState::Held { deadline, .. } => return deadline,
                other => panic!("expired from {other:?}"),
            },
            held @ KeeperState::Held { .. } => last = held,
            other => panic!("{other:?} {while_}"),
        }
    }
}

async fn next_state(rx: &mut watch::Receiver<KeeperState>) -> KeeperState {
    tokio::time::timeout(PATIENCE, rx.changed())
        .await
        .expect("the keeper's state changes in time")
        .expect("the keeper's state is still published");
    *rx.borrow_and_update()
}

/// An op with this seq.
fn op(seq: u64) -> LogOp {
    LogOp {
        seq,
        author: "ann".into(),
        data: format!(r#"{{"t":"test","n":{seq}}}"#),
        at: 1_764_000_000_000 + seq as i64,
        reach: None,
        tiles: Vec::new(),
    }
}

/// The wall-clock time of a past monotonic instant.
fn wall(at: Instant) -> SystemTime {
    SystemTime::now() - Instant::now().saturating_duration_since(at)
}

/// A keeper holds its room across renewals: same epoch, a later deadline each time, and B
/// cannot take the room meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keeper_holds_its_room_across_renewals() {
    let c = cluster().await;
    let room = c.room().await;
    let a = c.keep(room, "node-a").await;
    let mut rx = a.subscribe();
    let KeeperState::Held {
        epoch,
        mut deadline,
    } = a.state()
    else {
        panic!("a started keeper holds its room: {:?}", a.state());
    };
    assert_eq!(epoch, 1);
    assert_eq!(a.room(), room);
    for _ in 0..4 {
        assert_eq!(c.acquire(room, "node-b").await, None, "B took A's room");
        match next_state(&mut rx).await {
            KeeperState::Held {
                epoch: e,
                deadline: d,
            } => {
                assert_eq!(e, epoch, "a renewal keeps the epoch");
                assert!(d > deadline, "a renewal moves the deadline forward");
                deadline = d;
            }
            other => panic!("the keeper lost its room: {other:?}"),
        }
        let lease = a.lease().expect("a held keeper hands out its lease");
        assert_eq!(lease.epoch(), epoch);
    }
    assert_eq!(c.acquire(room, "node-b").await, None, "B took A's room");
}

/// PostgreSQL stops: the keeper goes `Expired` at its local deadline, which comes before the
/// database's expiry; once PostgreSQL is back and the lease has expired there, B takes the
/// room at the next epoch and A's keeper reports it `Lost`, never `Held` again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keeper_expires_at_its_deadline_while_the_database_is_down() {
    let c = cluster().await;
    let room = c.room().await;
    let a = c.keep(room, "node-a").await;
    let mut rx = a.subscribe();
    let KeeperState::Held { epoch, .. } = a.state() else {
        panic!("a started keeper holds its room");
    };
    c.pg.stop();
    let deadline = await_expiry(&mut rx, "while the database is down").await;
    assert!(Instant::now() >= deadline, "expired before its deadline");
    assert!(a.lease().is_none(), "an expired keeper hands out no lease");
    // The database's expiry is at most a ttl after the last renewal was answered, which was
    // before the keeper expired: past that, no renewal can succeed any more.
    tokio::time::sleep(config().ttl).await;
    c.pg.restart();
    let expires_at: SystemTime =
        c.db.client()
            .await
            .expect("client")
            .query_one("SELECT expires_at FROM leases WHERE room = $1", &[&room])
            .await
            .expect("lease row")
            .get(0);
    assert!(
        wall(deadline) < expires_at,
        "the local deadline came before the database's expiry"
    );
    assert_eq!(c.acquire_when_free(room, "node-b").await, epoch + 1);
    loop {
        match next_state(&mut rx).await {
            KeeperState::Lost { reason } => {
                assert_eq!(reason, LostReason::NotRenewed);
                break;
            }
            KeeperState::Expired => {}
            held => panic!("A held the room again after it expired: {held:?}"),
        }
    }
    assert!(a.lease().is_none());
}

/// A stalled owner: its renewals wait on the lease row, which another connection holds
/// locked. The keeper goes `Expired` at its local deadline even though its renewal is stuck,
/// hands out no lease from then on, and once B has taken the room the last lease A had is
/// fenced off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keeper_whose_renewal_is_stuck_expires_at_its_deadline() {
    let c = cluster().await;
    let room = c.room().await;
    let a = c.keep(room, "node-a").await;
    let mut rx = a.subscribe();
    assert!(matches!(
        next_state(&mut rx).await,
        KeeperState::Held { .. }
    ));
    let stale = a.lease().expect("held");
    c.log.append(&stale, &[op(1)]).await.expect("A writes");

    // A connection of its own, without the pool's timeouts, locks the lease row.
    let (blocker, connection) = tokio_postgres::connect(&c.pg.url, tokio_postgres::NoTls)
        .await
        .expect("blocker connects");
    tokio::spawn(connection);
    blocker.batch_execute("BEGIN").await.expect("begin");
    blocker
        .query_one(
            "SELECT expires_at FROM leases WHERE room = $1 FOR UPDATE",
            &[&room],
        )
        .await
        .expect("lock the lease row");

    let deadline = await_expiry(&mut rx, "while the row is locked").await;
    assert!(Instant::now() >= deadline, "expired before its deadline");
    assert!(a.lease().is_none(), "an expired keeper hands out no lease");
    let waiting: i64 = blocker
        .query_one(
            "SELECT count(*) FROM pg_stat_activity \
             WHERE application_name = 'inkroom' AND wait_event_type = 'Lock'",
            &[],
        )
        .await
        .expect("activity")
        .get(0);
    eprintln!("{waiting} renewal(s) of A waiting on the lease row when A expired");

    // Hold the row until the lease has expired on the database's clock too, then take the
    // room over as B in the same transaction. (A renewal waiting on a row that its locker
    // releases unchanged goes ahead with the check it made before waiting, so rolling back
    // would let A's queued renewal extend its lease again; a committed takeover makes it
    // re-check the row and find another epoch.)
    let give_up = Instant::now() + PATIENCE;
    loop {
        let expired: bool = blocker
            .query_one(
                "SELECT expires_at <= clock_timestamp() FROM leases WHERE room = $1",
                &[&room],
            )
            .await
            .expect("expiry")
            .get(0);
        if expired {
            break;
        }
        assert!(a.lease().is_none(), "A's lease came back while stuck");
        assert!(Instant::now() < give_up, "the lease never expired");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let taken = blocker
        .execute(
            "UPDATE leases SET owner = 'node-b', epoch = epoch + 1, \
             expires_at = clock_timestamp() + interval '60 seconds' \
             WHERE room = $1 AND expires_at <= clock_timestamp()",
            &[&room],
        )
        .await
        .expect("B takes over");
    assert_eq!(taken, 1);
    blocker.batch_execute("COMMIT").await.expect("commit");

    assert_eq!(
        c.acquire(room, "node-b").await,
        Some(stale.epoch() + 1),
        "B holds the room at the next epoch"
    );
    let fenced = c.log.append(&stale, &[op(2)]).await;
    assert!(
        matches!(fenced, Err(AppendError::Fenced { epoch, .. }) if epoch == stale.epoch()),
        "{fenced:?}"
    );
    loop {
        match next_state(&mut rx).await {
            KeeperState::Lost { .. } => break,
            KeeperState::Expired => {}
            held => panic!("A held the room again after B took it: {held:?}"),
        }
    }
    assert!(a.lease().is_none());
    assert_eq!(c.log.last_seq(room).await.expect("last"), Some(1));
}

/// Released, the room goes to B at once, at the next epoch, and A's keeper says why it lost it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_released_room_goes_to_the_next_node_at_once() {
    let c = cluster().await;
    let room = c.room().await;
    let a = c.keep(room, "node-a").await;
    let rx = a.subscribe();
    let epoch = a.lease().expect("held").epoch();
    assert_eq!(c.acquire(room, "node-b").await, None);
    assert!(a.release().await.expect("release"), "A still held it");
    assert_eq!(
        *rx.borrow(),
        KeeperState::Lost {
            reason: LostReason::Released
        }
    );
    assert_eq!(c.acquire(room, "node-b").await, Some(epoch + 1));
}

/// A dropped keeper stops renewing without releasing: the room stays A's until the lease
/// expires, and then goes to B at the next epoch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_keeper_lets_its_lease_expire() {
    let c = cluster().await;
    let room = c.room().await;
    let a = c.keep(room, "node-a").await;
    let epoch = a.lease().expect("held").epoch();
    drop(a);
    assert_eq!(
        c.acquire(room, "node-b").await,
        None,
        "a drop is no release"
    );
    assert_eq!(c.acquire_when_free(room, "node-b").await, epoch + 1);
}
