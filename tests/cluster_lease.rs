//! Room leases with epoch fencing and the fenced op-log append, against a real PostgreSQL
//! (started by `tests/services` in a temp dir on a free port).

#[path = "services/mod.rs"]
mod services;

use std::time::{Duration, Instant};

use inkroom::cluster::{AppendError, Lease, LogOp, OpLog, Pg, PgError, PgOptions};
use services::cluster::Cluster;
use uuid::Uuid;

/// Short enough that the outage test fails fast, long enough for a loaded 2-core machine.
fn options() -> PgOptions {
    PgOptions {
        max_size: 8,
        connect_timeout: Duration::from_secs(2),
        op_timeout: Duration::from_secs(3),
    }
}

/// The safety margin the tests take off each lease.
const MARGIN: Duration = Duration::from_millis(50);

/// Bound on waiting for a lease to expire.
const PATIENCE: Duration = Duration::from_secs(20);

async fn cluster() -> Cluster {
    Cluster::start(options(), MARGIN).await
}

impl Cluster {
    /// Takes the room's lease as `node`; fails the test if it is held.
    async fn take(&self, room: Uuid, node: &str, ttl: Duration) -> Lease {
        self.leases
            .acquire(room, node, ttl)
            .await
            .expect("acquire")
            .expect("the room is free")
    }

    /// The room's log as (seq, epoch), in seq order.
    async fn stored(&self, room: Uuid) -> Vec<(i64, i64)> {
        self.db
            .client()
            .await
            .expect("client")
            .query(
                "SELECT seq, epoch FROM ops WHERE room = $1 ORDER BY seq",
                &[&room],
            )
            .await
            .expect("ops")
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect()
    }

    /// Polls `acquire` until `node` gets the room (the other holder's lease expired).
    async fn acquire_when_free(&self, room: Uuid, node: &str, ttl: Duration) -> Lease {
        let give_up = Instant::now() + PATIENCE;
        loop {
            if let Some(lease) = self.leases.acquire(room, node, ttl).await.expect("acquire") {
                return lease;
            }
            assert!(Instant::now() < give_up, "{node} never got room {room}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
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

/// The log holds exactly seqs 1..=n, and the epochs never go down along it.
fn assert_contiguous(stored: &[(i64, i64)]) {
    for (i, (seq, _)) in stored.iter().enumerate() {
        assert_eq!(*seq, i as i64 + 1, "a gap or a duplicate in {stored:?}");
    }
    assert!(
        stored.windows(2).all(|w| w[0].1 <= w[1].1),
        "an older epoch wrote after a newer one: {stored:?}"
    );
}

/// While A holds a room B cannot take it; A's renewals keep its epoch; released, the room
/// goes to B at the next epoch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_room_stays_with_its_owner_across_renewals() {
    let c = cluster().await;
    let room = c.room().await;
    let ttl = Duration::from_secs(10);
    let mut a = c.take(room, "node-a", ttl).await;
    assert_eq!(a.epoch(), 1);
    assert!(a.valid(Instant::now()));
    for _ in 0..3 {
        assert_eq!(
            c.leases
                .acquire(room, "node-b", ttl)
                .await
                .expect("acquire"),
            None
        );
        let renewed = c.leases.renew(&a).await.expect("renew").expect("still A's");
        assert_eq!(renewed.epoch(), a.epoch());
        assert!(renewed.expires_at() >= a.expires_at());
        assert!(renewed.deadline() >= a.deadline());
        a = renewed;
    }
    let again = c.take(room, "node-a", ttl).await;
    assert_eq!(
        again.epoch(),
        a.epoch(),
        "taking its own room again keeps the epoch"
    );
    assert!(c.leases.release(&a).await.expect("release"));
    let b = c.take(room, "node-b", ttl).await;
    assert_eq!(b.epoch(), a.epoch() + 1);
    assert_eq!(c.leases.renew(&a).await.expect("renew"), None);
}

/// A stops renewing: once its lease expires B takes the room at epoch + 1, A can neither
/// renew nor write, B writes on from A's last seq, and the log has no gap and no duplicate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_owner_is_fenced_off_and_the_next_writes_on() {
    let c = cluster().await;
    let room = c.room().await;
    let ttl = Duration::from_millis(500);
    let a = c.take(room, "node-a", ttl).await;
    c.log.append(&a, &[op(1), op(2)]).await.expect("A writes");
    let b = c
        .acquire_when_free(room, "node-b", Duration::from_secs(10))
        .await;
    assert_eq!(b.epoch(), a.epoch() + 1);
    assert!(
        !a.valid(Instant::now()),
        "A's local deadline passed before B could take the room"
    );
    assert_eq!(c.leases.renew(&a).await.expect("renew"), None);
    let fenced = c.log.append(&a, &[op(3)]).await;
    assert!(
        matches!(fenced, Err(AppendError::Fenced { epoch, .. }) if epoch == a.epoch()),
        "{fenced:?}"
    );
    assert_eq!(
        c.stored(room).await.len(),
        2,
        "A's fenced append wrote nothing"
    );
    assert_eq!(c.log.last_seq(room).await.expect("last"), Some(2));
    c.log.append(&b, &[op(3), op(4)]).await.expect("B writes");
    let stored = c.stored(room).await;
    assert_contiguous(&stored);
    assert_eq!(
        stored,
        vec![
            (1, a.epoch()),
            (2, a.epoch()),
            (3, b.epoch()),
            (4, b.epoch())
        ]
    );
}

/// A stale owner appending as fast as it can while B takes the room over: each of A's
/// appends either committed before the takeover or was fenced; none lands after it. The
/// order is read from PostgreSQL's commit timestamps (of each op and of the lease row B's
/// takeover wrote), so a late write is caught whenever it happens, not only while watched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_owner_racing_a_takeover_never_writes_after_it() {
    let c = cluster().await;
    c.db.client()
        .await
        .expect("client")
        .batch_execute("ALTER SYSTEM SET track_commit_timestamp = on")
        .await
        .expect("commit timestamps");
    c.pg.stop();
    c.pg.restart();
    let mut raced = 0;
    for round in 0..12 {
        let room = c.room().await;
        let a = c.take(room, "node-a", Duration::from_secs(10)).await;
        c.log.append(&a, &[op(1)]).await.expect("A writes first");
        // A's lease now runs out mid-stream, as if A had stopped renewing.
        c.db.client()
            .await
            .expect("client")
            .execute(
                "UPDATE leases SET expires_at = clock_timestamp() + interval '60 milliseconds' \
                 WHERE room = $1",
                &[&room],
            )
            .await
            .expect("shortened");
        let writer = {
            let log = c.log.clone();
            let a = a.clone();
            tokio::spawn(async move {
                let mut next = 2;
                loop {
                    match log.append(&a, &[op(next)]).await {
                        Ok(()) => next += 1,
                        Err(AppendError::Fenced { .. }) => return next - 1,
                        Err(e) => panic!("A's append failed: {e}"),
                    }
                }
            })
        };
        // B tries without pause, so its takeover lands while A is mid-append.
        let give_up = Instant::now() + PATIENCE;
        let b = loop {
            let ttl = Duration::from_secs(10);
            if let Some(b) = c
                .leases
                .acquire(room, "node-b", ttl)
                .await
                .expect("acquire")
            {
                break b;
            }
            assert!(Instant::now() < give_up, "B never got room {room}");
        };
        assert_eq!(b.epoch(), a.epoch() + 1);
        let written = writer.await.expect("A's task");
        let client = c.db.client().await.expect("client");
        let late: i64 = client
            .query_one(
                "SELECT count(*) FROM ops o, leases l \
                 WHERE o.room = $1 AND l.room = $1 AND o.epoch < l.epoch \
                 AND pg_xact_commit_timestamp(o.xmin) >= pg_xact_commit_timestamp(l.xmin)",
                &[&room],
            )
            .await
            .expect("commit order")
            .get(0);
        assert_eq!(late, 0, "round {round}: A committed after B's takeover");
        // How close the race ran: A's last commit within a few ms of the takeover's.
        let gap: f64 = client
            .query_one(
                "SELECT extract(epoch FROM (SELECT pg_xact_commit_timestamp(xmin) \
                 FROM leases WHERE room = $1) - max(pg_xact_commit_timestamp(xmin))) \
                 ::float8 FROM ops WHERE room = $1",
                &[&room],
            )
            .await
            .expect("gap")
            .get(0);
        if gap < 0.005 {
            raced += 1;
        }
        let stored = c.stored(room).await;
        assert_eq!(stored.len() as u64, written, "round {round}");
        assert!(stored.iter().all(|&(_, epoch)| epoch == a.epoch()));
        c.log
            .append(&b, &[op(written + 1)])
            .await
            .expect("B writes next");
        assert_contiguous(&c.stored(room).await);
    }
    eprintln!("{raced} of 12 takeovers came within 5 ms of A's last commit");
}

/// The log takes only its next seq: a gap, a repeat and a batch that skips are refused and
/// write nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seq_that_skips_or_repeats_is_refused() {
    let c = cluster().await;
    let room = c.room().await;
    let a = c.take(room, "node-a", Duration::from_secs(10)).await;
    c.log.append(&a, &[op(1), op(2)]).await.expect("writes");
    for (batch, expected, got) in [
        (vec![op(4)], 3, 4),
        (vec![op(2)], 3, 2),
        (vec![op(1), op(2)], 3, 1),
        (vec![op(3), op(5)], 4, 5),
        (vec![op(3), op(3)], 4, 3),
    ] {
        match c.log.append(&a, &batch).await {
            Err(AppendError::Seq {
                expected: e,
                got: g,
                ..
            }) => assert_eq!((e, g), (expected, got)),
            other => panic!("{batch:?} was not refused: {other:?}"),
        }
    }
    assert_eq!(c.stored(room).await, vec![(1, 1), (2, 1)]);
    c.log.append(&a, &[op(3)]).await.expect("the next seq");
    assert_contiguous(&c.stored(room).await);
    let gone = Uuid::new_v4();
    let lease = c.take(gone, "node-a", Duration::from_secs(10)).await;
    assert!(matches!(
        c.log.append(&lease, &[op(1)]).await,
        Err(AppendError::NoRoom(r)) if r == gone
    ));
}

/// With PostgreSQL down, acquire, renew and append fail within the timeouts (no panic, no
/// hang); once it is back they work again on the same data.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_fails_fast_and_recovery_keeps_the_data() {
    let c = cluster().await;
    let room = c.room().await;
    let a = c.take(room, "node-a", Duration::from_secs(60)).await;
    c.log.append(&a, &[op(1), op(2)]).await.expect("writes");
    c.pg.stop();
    let bound = options().op_timeout + options().connect_timeout + Duration::from_secs(2);
    let t = Instant::now();
    let acquired = c
        .leases
        .acquire(Uuid::new_v4(), "node-a", Duration::from_secs(60))
        .await;
    assert!(acquired.is_err(), "{acquired:?}");
    let renewed = c.leases.renew(&a).await;
    assert!(renewed.is_err(), "{renewed:?}");
    let appended = c.log.append(&a, &[op(3)]).await;
    assert!(
        matches!(appended, Err(AppendError::Store(_))),
        "{appended:?}"
    );
    assert!(
        t.elapsed() < bound * 3,
        "three calls took {:?} with the database down",
        t.elapsed()
    );
    c.pg.restart();
    let renewed = c
        .leases
        .renew(&a)
        .await
        .expect("renews after the restart")
        .expect("still A's");
    assert_eq!(renewed.epoch(), a.epoch());
    assert_eq!(c.log.last_seq(room).await.expect("last"), Some(2));
    c.log
        .append(&renewed, &[op(3)])
        .await
        .expect("writes again");
    assert_eq!(c.stored(room).await, vec![(1, 1), (2, 1), (3, 1)]);
}

/// Connecting again migrates nothing twice; a schema newer than this binary is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_are_idempotent() {
    let c = cluster().await;
    let room = c.room().await;
    let again = Pg::connect(&c.pg.url, options())
        .await
        .expect("connects again");
    let client = again.client().await.expect("client");
    let versions: Vec<i32> = client
        .query(
            "SELECT version FROM schema_migrations ORDER BY version",
            &[],
        )
        .await
        .expect("versions")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        versions,
        (1..=inkroom::cluster::SCHEMA_VERSION).collect::<Vec<_>>()
    );
    assert_eq!(
        OpLog::new(again.clone())
            .last_seq(room)
            .await
            .expect("room"),
        Some(0)
    );
    client
        .execute("INSERT INTO schema_migrations (version) VALUES (999)", &[])
        .await
        .expect("future version");
    assert!(matches!(
        Pg::connect(&c.pg.url, options()).await,
        Err(PgError::Schema(_))
    ));
}
