//! The fan-out bus against a real Redis: order, history, gaps, a Redis restart, and
//! unsubscribing. Each test starts its own `redis-server` (see `tests/services`).

mod services;

use std::time::Duration;

use bytes::Bytes;
use inkroom::cluster::bus::{Bus, BusConfig, Error, Event, Kind, Message, Subscription};
use redis::aio::MultiplexedConnection;
use services::Redis;
use uuid::Uuid;

/// How long any one expected event may take before the test fails.
const PATIENCE: Duration = Duration::from_secs(20);

fn config() -> BusConfig {
    BusConfig {
        publish_timeout: Duration::from_secs(1),
        backoff_min: Duration::from_millis(50),
        backoff_max: Duration::from_millis(500),
        ping_interval: Duration::from_millis(500),
        ..BusConfig::default()
    }
}

/// The message for `seq` when each message carries one seq.
fn msg(room: Uuid, seq: u64) -> Message {
    Message {
        room,
        after: seq - 1,
        seq,
        kind: Kind::Batch,
        payload: Bytes::from(format!("frame {seq}")),
    }
}

async fn next(sub: &mut Subscription) -> Event {
    tokio::time::timeout(PATIENCE, sub.recv())
        .await
        .expect("an event in time")
        .expect("the bus is running")
}

/// Receives the messages `seqs`, in that order.
async fn expect_messages(sub: &mut Subscription, seqs: impl IntoIterator<Item = u64>) {
    for seq in seqs {
        assert_eq!(next(sub).await, Event::Message(msg(sub.room(), seq)));
    }
}

async fn publish_all(bus: &Bus, room: Uuid, seqs: impl IntoIterator<Item = u64>) {
    for seq in seqs {
        bus.publish(&msg(room, seq)).await.expect("published");
    }
}

async fn raw(redis: &Redis) -> MultiplexedConnection {
    redis::Client::open(redis.url.as_str())
        .expect("url")
        .get_multiplexed_async_connection()
        .await
        .expect("connects")
}

/// Appends `seq` to the room's stream alone, as if its channel message were lost.
async fn stream_only(conn: &mut MultiplexedConnection, room: Uuid, seq: u64, maxlen: u64) {
    let _: String = redis::cmd("XADD")
        .arg(format!("inkroom:room:{room}:log"))
        .arg("MAXLEN")
        .arg("~")
        .arg(maxlen)
        .arg(format!("{seq}-0"))
        .arg("a")
        .arg(seq - 1)
        .arg("k")
        .arg(1)
        .arg("d")
        .arg(format!("frame {seq}"))
        .query_async(conn)
        .await
        .expect("xadd");
}

/// Waits until the room's channel has `want` subscriber connections.
async fn await_numsub(conn: &mut MultiplexedConnection, room: Uuid, want: i64) {
    let channel = format!("inkroom:room:{room}");
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let (_, n): (String, i64) = redis::cmd("PUBSUB")
            .arg("NUMSUB")
            .arg(&channel)
            .query_async(conn)
            .await
            .expect("numsub");
        if n == want {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "NUMSUB stayed {n}, want {want}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Two nodes on one room get every message once and in order; a node on another room gets
/// none of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_get_every_message_in_order() {
    let redis = Redis::start();
    let (a, b, c) = (
        Bus::connect(&redis.url, config()).await.expect("a"),
        Bus::connect(&redis.url, config()).await.expect("b"),
        Bus::connect(&redis.url, config()).await.expect("c"),
    );
    let (room, other) = (Uuid::new_v4(), Uuid::new_v4());
    let mut on_a = a.subscribe(room, 0);
    let mut on_b = b.subscribe(room, 0);
    let mut on_c = c.subscribe(other, 0);
    publish_all(&a, room, 1..=100).await;
    publish_all(&a, other, 1..=1).await;
    expect_messages(&mut on_a, 1..=100).await;
    expect_messages(&mut on_b, 1..=100).await;
    expect_messages(&mut on_c, 1..=1).await;
    assert_eq!(on_c.try_recv(), None);
    publish_all(&a, room, 101..=101).await;
    expect_messages(&mut on_a, 101..=101).await;
    expect_messages(&mut on_b, 101..=101).await;
    assert_eq!(on_b.try_recv(), None);
}

/// A node that joins at seq 40 after 50 were published gets 41..=50 from the stream, then the
/// live messages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_subscriber_reads_the_stream_first() {
    let redis = Redis::start();
    let owner = Bus::connect(&redis.url, config()).await.expect("owner");
    let node = Bus::connect(&redis.url, config()).await.expect("node");
    let room = Uuid::new_v4();
    publish_all(&owner, room, 1..=50).await;
    let again = owner.publish(&msg(room, 50)).await;
    assert!(
        matches!(again, Err(Error::Stale { seq: 50, .. })),
        "{again:?}"
    );
    let mut sub = node.subscribe(room, 40);
    expect_messages(&mut sub, 41..=50).await;
    publish_all(&owner, room, 51..=55).await;
    expect_messages(&mut sub, 51..=55).await;
}

/// Channel messages that never came are filled from the stream; when the stream was trimmed
/// below them, the subscriber is told exactly which seqs to fetch from the database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn holes_are_filled_from_the_stream_or_reported() {
    let redis = Redis::start();
    let config = BusConfig {
        stream_len: 10,
        ..config()
    };
    let owner = Bus::connect(&redis.url, config.clone())
        .await
        .expect("owner");
    let node = Bus::connect(&redis.url, config).await.expect("node");
    let mut conn = raw(&redis).await;
    let room = Uuid::new_v4();
    let mut sub = node.subscribe(room, 0);
    publish_all(&owner, room, 1..=3).await;
    expect_messages(&mut sub, 1..=3).await;

    for seq in 4..=6 {
        stream_only(&mut conn, room, seq, 10).await;
    }
    publish_all(&owner, room, 7..=7).await;
    expect_messages(&mut sub, 4..=7).await;

    for seq in 8..=400 {
        stream_only(&mut conn, room, seq, 10).await;
    }
    let first: Vec<(String, Vec<String>)> = redis::cmd("XRANGE")
        .arg(format!("inkroom:room:{room}:log"))
        .arg("-")
        .arg("+")
        .arg("COUNT")
        .arg(1)
        .query_async(&mut conn)
        .await
        .expect("xrange");
    let kept: u64 = first[0].0.trim_end_matches("-0").parse().expect("seq id");
    assert!(kept > 8 && kept <= 391, "the stream kept from {kept}");
    publish_all(&owner, room, 401..=401).await;
    assert_eq!(
        next(&mut sub).await,
        Event::Gap {
            after: 7,
            next: kept - 1
        }
    );
    expect_messages(&mut sub, kept..=401).await;
}

/// Redis restarted empty mid-stream: publishing fails while it is down and works after; the
/// subscriber comes back by itself, reports what was lost, and goes on in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_restart_is_a_reported_gap() {
    let _ = tracing_subscriber::fmt().with_test_writer().try_init();
    let mut redis = Redis::start();
    let owner = Bus::connect(&redis.url, config()).await.expect("owner");
    let node = Bus::connect(&redis.url, config()).await.expect("node");
    let room = Uuid::new_v4();
    let mut sub = node.subscribe(room, 0);
    publish_all(&owner, room, 1..=5).await;
    expect_messages(&mut sub, 1..=5).await;

    redis.stop();
    for seq in 6..=8 {
        let failed = owner.publish(&msg(room, seq)).await;
        assert!(failed.is_err(), "published {seq} with Redis down");
    }
    redis.restart();
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        match owner.publish(&msg(room, 9)).await {
            Ok(_) | Err(Error::Stale { .. }) => break,
            Err(e) => assert!(tokio::time::Instant::now() < deadline, "still failing: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(next(&mut sub).await, Event::Gap { after: 5, next: 8 });
    expect_messages(&mut sub, 9..=9).await;
    publish_all(&owner, room, 10..=12).await;
    expect_messages(&mut sub, 10..=12).await;
}

/// A consumer that does not read gets a gap for what did not fit, not unbounded memory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_consumer_gets_a_gap() {
    let redis = Redis::start();
    let owner = Bus::connect(&redis.url, config()).await.expect("owner");
    let node = Bus::connect(
        &redis.url,
        BusConfig {
            queue: 4,
            ..config()
        },
    )
    .await
    .expect("node");
    let (room, marker) = (Uuid::new_v4(), Uuid::new_v4());
    let mut sub = node.subscribe(room, 0);
    let mut after_all = node.subscribe(marker, 0);
    let mut conn = raw(&redis).await;
    await_numsub(&mut conn, room, 1).await;
    await_numsub(&mut conn, marker, 1).await;
    publish_all(&owner, room, 1..=20).await;
    // One connection carries both rooms in order: once the marker is in, all 20 were routed.
    publish_all(&owner, marker, 1..=1).await;
    expect_messages(&mut after_all, 1..=1).await;
    expect_messages(&mut sub, 1..=4).await;
    publish_all(&owner, room, 21..=21).await;
    assert_eq!(next(&mut sub).await, Event::Gap { after: 4, next: 20 });
    expect_messages(&mut sub, 21..=21).await;
}

/// When a room's last local subscription is dropped, the node stops receiving it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_drop_unsubscribes() {
    let redis = Redis::start();
    let owner = Bus::connect(&redis.url, config()).await.expect("owner");
    let node = Bus::connect(&redis.url, config()).await.expect("node");
    let mut conn = raw(&redis).await;
    let room = Uuid::new_v4();
    let first = node.subscribe(room, 0);
    let mut second = node.subscribe(room, 0);
    await_numsub(&mut conn, room, 1).await;
    drop(first);
    publish_all(&owner, room, 1..=1).await;
    expect_messages(&mut second, 1..=1).await;
    await_numsub(&mut conn, room, 1).await;
    drop(second);
    await_numsub(&mut conn, room, 0).await;
}
