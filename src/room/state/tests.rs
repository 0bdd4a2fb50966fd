//! The room's rules, driven directly: commands in, frames out of members' outboxes, effects
//! carried out by hand (the store "answers" by calling `stored`).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::{testkit, Effect, Joining, RoomState};
use crate::canvas::{Canvas, Document, Rgba};
use crate::config::Config;
use crate::protocol::{decode_server, Command, ErrorCode, MemberId, Role, ServerMsg};
use crate::room::outbox::{outbox, OutboxRx, Outgoing};

/// A room and the reading ends of its members' outboxes.
struct Harness {
    room: RoomState,
    rx: HashMap<MemberId, OutboxRx>,
    now: Instant,
}

impl Harness {
    fn new(config: Config) -> Harness {
        let meta = testkit::meta_sized(&config, 400, 300);
        let canvas = Canvas::new(400, 300).expect("canvas");
        let doc = Document::new(canvas, 0, config.undo_depth, config.checkpoint_every);
        let now = Instant::now();
        let mut room = testkit::state_over(&meta, &config, doc, now);
        room.take_effects();
        Harness {
            room,
            rx: HashMap::new(),
            now,
        }
    }

    fn join(&mut self, name: &str, role: Role, batch: bool) -> MemberId {
        let (tx, rx) = outbox(
            self.room.config.outbox_frames,
            self.room.config.outbox_bytes,
        );
        let id = self
            .room
            .join(Joining {
                name: name.into(),
                role,
                outbox: tx,
                user: None,
                since: None,
                batch,
                bus: false,
                edit_key: Some(self.room.meta().edit_key.clone()),
            })
            .expect("joins");
        self.rx.insert(id, rx);
        id
    }

    /// Handles a command and makes every op it commits durable at once.
    fn send(&mut self, id: MemberId, cmd: Command) {
        let _ = self.room.handle(id, cmd, self.now);
        self.store_all();
    }

    fn store_all(&mut self) {
        for e in self.room.take_effects() {
            if let Effect::Persist { seq, .. } = e {
                self.room.stored(seq, None, self.now);
            }
        }
    }

    /// Housekeeping, then delivery of everything said (a whole tick has passed).
    fn tick(&mut self) {
        self.now += self.room.config.tick_max;
        self.room.tick(self.now);
        self.room.deliver_due(self.now);
        self.store_all();
    }

    /// Text frames queued for a member (binary frames and canvases skipped).
    fn frames(&mut self, id: MemberId) -> Vec<bytestring::ByteString> {
        let rx = self.rx.get_mut(&id).expect("member");
        std::iter::from_fn(|| rx.try_recv())
            .filter_map(|o| match o {
                Outgoing::Text(t) => Some(t),
                _ => None,
            })
            .collect()
    }

    /// Messages queued for a member, batches unpacked, presence left out.
    fn messages(&mut self, id: MemberId) -> Vec<ServerMsg<'static>> {
        self.frames(id)
            .iter()
            .flat_map(|t| match decode_server(t).expect("decodes") {
                ServerMsg::Batch { messages } => messages,
                m => vec![m],
            })
            .filter(|m| !matches!(m, ServerMsg::Presence { .. }))
            .collect()
    }
}

use testkit::begin;

fn points(stroke: u32, x: f32) -> Command {
    Command::StrokePoints {
        stroke,
        points: vec![x, 20.0, 0.5],
    }
}

/// All viewers get the same single frame per tick, holding every author's messages in order;
/// the author gets none of its own stroke traffic.
#[test]
fn viewers_share_one_frame_per_tick() {
    let mut h = Harness::new(Config::default());
    let ann = h.join("Ann", Role::Editor, true);
    let viewers: Vec<MemberId> = (0..3).map(|_| h.join("V", Role::Viewer, true)).collect();
    h.tick();
    for id in std::iter::once(ann).chain(viewers.iter().copied()) {
        h.frames(id);
    }
    h.send(ann, begin(1, 10.0));
    for i in 0..3 {
        h.send(ann, points(1, 20.0 + i as f32));
    }
    h.tick();
    let frames: Vec<_> = viewers.iter().map(|v| h.frames(*v)).collect();
    for f in &frames {
        assert_eq!(f.len(), 1, "one frame per tick");
        assert_eq!(
            f[0].as_bytes().as_ptr(),
            frames[0][0].as_bytes().as_ptr(),
            "encoded once, shared"
        );
    }
    let ServerMsg::Batch { messages } = decode_server(&frames[0][0]).expect("decodes") else {
        panic!("expected a batch");
    };
    assert_eq!(messages.len(), 4);
    assert!(matches!(messages[0], ServerMsg::StrokeBegin { author, .. } if author == ann));
    let xs: Vec<f32> = messages[1..]
        .iter()
        .map(|m| match m {
            ServerMsg::StrokePoints { points, .. } => points[0],
            other => panic!("expected points, got {other:?}"),
        })
        .collect();
    assert_eq!(xs, [20.0, 21.0, 22.0]);
    assert!(h.messages(ann).is_empty(), "no echo of one's own stroke");
}

/// With two authors interleaving, a watcher sees each author's messages in the order sent and
/// commits in seq order, whether it reads batches or single messages.
#[test]
fn authors_in_order_and_commits_in_seq_order() {
    let mut h = Harness::new(Config::default());
    let ann = h.join("Ann", Role::Editor, true);
    let bob = h.join("Bob", Role::Editor, true);
    let batch = h.join("Vic", Role::Viewer, true);
    let single = h.join("Sol", Role::Viewer, false);
    for round in 0..5u32 {
        for (who, base) in [(ann, 0.0), (bob, 100.0)] {
            h.send(who, begin(round, base));
            h.send(who, points(round, base + 1.0));
            if round % 2 == 1 {
                h.tick();
            }
            h.send(who, Command::StrokeEnd { stroke: round });
        }
        h.tick();
    }
    for viewer in [batch, single] {
        let msgs = h.messages(viewer);
        let mut seqs = Vec::new();
        let mut per_author: HashMap<MemberId, Vec<(u32, &'static str)>> = HashMap::new();
        for m in &msgs {
            match m {
                ServerMsg::StrokeBegin { author, stroke, .. } => per_author
                    .entry(*author)
                    .or_default()
                    .push((*stroke, "begin")),
                ServerMsg::StrokePoints { author, stroke, .. } => per_author
                    .entry(*author)
                    .or_default()
                    .push((*stroke, "points")),
                ServerMsg::StrokeEnd { author, stroke } => per_author
                    .entry(*author)
                    .or_default()
                    .push((*stroke, "end")),
                ServerMsg::Commit { seq, .. } => seqs.push(*seq),
                _ => {}
            }
        }
        assert_eq!(seqs, (1..=10).collect::<Vec<u64>>());
        for who in [ann, bob] {
            let want: Vec<(u32, &str)> = (0..5)
                .flat_map(|r| [(r, "begin"), (r, "points"), (r, "end")])
                .collect();
            assert_eq!(per_author[&who], want);
        }
    }
}

/// Joining a room of 2,000 viewers costs what joining an empty one does: the welcome names
/// editors and listed viewers only, and only listed viewers are announced.
#[test]
fn joining_a_big_room_costs_the_same() {
    let config = Config::default();
    let listed = config.listed_viewers;
    let mut h = Harness::new(config);
    let ann = h.join("Ann", Role::Editor, true);
    let mut welcome_sizes = Vec::new();
    for i in 0..2000 {
        let v = h.join(&format!("viewer {i}"), Role::Viewer, true);
        let frames = h.frames(v);
        welcome_sizes.push(frames[0].len());
        if i % 100 == 0 {
            h.tick();
        }
    }
    h.tick();
    let first = welcome_sizes[listed + 5];
    assert!(
        welcome_sizes[1999] <= first + 8,
        "welcome does not grow: {first} then {}",
        welcome_sizes[1999]
    );
    let last = h.join("Last", Role::Viewer, true);
    let ServerMsg::Welcome {
        members, viewers, ..
    } = decode_server(&h.frames(last)[0]).expect("decodes")
    else {
        panic!("expected welcome");
    };
    assert_eq!(viewers, 2001);
    assert_eq!(
        members.len(),
        1 + listed + 1,
        "Ann, the listed viewers, and me"
    );
    h.tick();
    let joined = h
        .messages(ann)
        .iter()
        .filter(|m| matches!(m, ServerMsg::MemberJoined { .. }))
        .count();
    assert_eq!(joined, listed);
    assert_eq!(h.room.status().viewers, 2001);
}

/// `presence` gives the counts; `list_members` pages through everyone.
#[test]
fn presence_and_member_pages() {
    let mut h = Harness::new(Config::default());
    let ann = h.join("Ann", Role::Editor, true);
    for _ in 0..249 {
        h.join("V", Role::Viewer, true);
    }
    h.tick();
    let presence: Vec<(u64, u64)> = h
        .frames(ann)
        .iter()
        .flat_map(|t| match decode_server(t).expect("decodes") {
            ServerMsg::Batch { messages } => messages,
            m => vec![m],
        })
        .filter_map(|m| match m {
            ServerMsg::Presence { editors, viewers } => Some((editors, viewers)),
            _ => None,
        })
        .collect();
    assert_eq!(presence.last(), Some(&(1, 249)));
    let mut after = None;
    let mut seen = Vec::new();
    loop {
        h.send(ann, Command::ListMembers { after });
        h.tick();
        let page = h
            .messages(ann)
            .into_iter()
            .find_map(|m| match m {
                ServerMsg::MemberList { members, next } => Some((members, next)),
                _ => None,
            })
            .expect("a page");
        assert!(page.0.len() <= 100);
        seen.extend(page.0.iter().map(|m| m.id));
        match page.1 {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, (1..=250).collect::<Vec<u64>>());
}

/// A viewer's drawing is refused with `read_only` through its own queue; the canvas is
/// unchanged and nobody else hears of it.
#[test]
fn viewers_cannot_draw() {
    let mut h = Harness::new(Config::default());
    let ann = h.join("Ann", Role::Editor, true);
    let vic = h.join("Vic", Role::Viewer, true);
    h.tick();
    h.frames(ann);
    h.frames(vic);
    let refused = h.room.handle(vic, begin(1, 5.0), h.now);
    assert_eq!(refused.map_err(|e| e.code), Err(ErrorCode::ReadOnly));
    let refused = h.room.handle(vic, Command::Clear { id: None }, h.now);
    assert_eq!(refused.map_err(|e| e.code), Err(ErrorCode::ReadOnly));
    h.tick();
    let errors: Vec<ErrorCode> = h
        .messages(vic)
        .iter()
        .filter_map(|m| match m {
            ServerMsg::Error { code, .. } => Some(*code),
            _ => None,
        })
        .collect();
    assert_eq!(errors, [ErrorCode::ReadOnly, ErrorCode::ReadOnly]);
    assert!(h.messages(ann).is_empty());
    assert_eq!(h.room.doc().seq(), 0);
}

/// A member that does not read falls behind without holding anyone up, gets nothing more
/// while behind, and is resynced in place (welcome, canvas, synced) once it has drained.
#[test]
fn a_stalled_member_lags_and_is_resynced() {
    let mut h = Harness::new(Config {
        outbox_frames: 4,
        ..Config::default()
    });
    let ann = h.join("Ann", Role::Editor, true);
    let slow = h.join("Slow", Role::Viewer, true);
    let fast = h.join("Fast", Role::Viewer, true);
    for i in 0..10u32 {
        h.send(ann, begin(i, 1.0));
        h.send(ann, Command::StrokeEnd { stroke: i });
        h.tick();
        h.frames(fast);
        h.frames(ann);
    }
    assert_eq!(h.room.status().lagging, 1);
    assert_eq!(h.room.doc().seq(), 10, "the editor kept committing");
    // Draining the stalled member's outbox lets the next tick resync it.
    let rx = h.rx.get_mut(&slow).expect("member");
    while rx.try_recv().is_some() {}
    h.tick();
    let msgs = h.messages(slow);
    assert!(
        matches!(
            msgs.first(),
            Some(ServerMsg::Welcome {
                resumed: true,
                seq: 10,
                ..
            })
        ),
        "{msgs:?}"
    );
    assert_eq!(h.room.status().lagging, 0);
    assert_eq!(h.room.metrics.resyncs.get(), 1, "the resync is counted");
}

/// An idle room with nobody in it reports how long it has been idle.
#[test]
fn idle_time_counts_from_the_last_leave() {
    let mut h = Harness::new(Config::default());
    let ann = h.join("Ann", Role::Editor, false);
    assert_eq!(h.room.idle_for(h.now), Duration::ZERO);
    h.room.leave(ann, h.now);
    assert_eq!(
        h.room.idle_for(h.now + Duration::from_secs(3)),
        Duration::from_secs(3)
    );
}

/// The tick grows with the room: a frame per member costs a write per member.
#[test]
fn the_tick_grows_with_the_room() {
    let mut h = Harness::new(Config::default());
    assert_eq!(h.room.tick_interval(), Duration::from_millis(2));
    for _ in 0..2000 {
        h.join("V", Role::Viewer, true);
    }
    let t = h.room.tick_interval();
    assert!(
        t > Duration::from_millis(40) && t < Duration::from_millis(48),
        "{t:?}"
    );
}

/// Messages into a quiet room go out at once (up to the saved-up burst); after that, what
/// follows within a tick waits for it and then goes out together.
#[test]
fn quiet_rooms_send_at_once_busy_ones_once_a_tick() {
    let mut h = Harness::new(Config::default());
    let ann = h.join("Ann", Role::Editor, true);
    let vic = h.join("Vic", Role::Viewer, true);
    h.tick();
    h.frames(vic);
    let tick = h.room.tick_interval();
    h.now += tick * 10;
    h.send(ann, begin(1, 1.0));
    assert_eq!(h.room.deliver_due(h.now), None, "sent at once");
    assert_eq!(h.frames(vic).len(), 1);
    for i in 1..h.room.config.tick_burst {
        h.send(ann, points(1, i as f32));
        assert_eq!(
            h.room.deliver_due(h.now),
            None,
            "the burst goes out at once"
        );
    }
    assert_eq!(h.frames(vic).len(), h.room.config.tick_burst as usize - 1);
    h.send(ann, points(1, 2.0));
    h.send(ann, points(1, 3.0));
    let wait = h
        .room
        .deliver_due(h.now)
        .expect("held for the rest of the tick");
    assert!(wait <= tick);
    assert!(h.frames(vic).is_empty());
    h.now += wait;
    assert_eq!(h.room.deliver_due(h.now), None);
    let frames = h.frames(vic);
    assert_eq!(frames.len(), 1, "both points in one frame");
    assert!(
        matches!(decode_server(&frames[0]), Ok(ServerMsg::Batch { messages }) if messages.len() == 2)
    );
}

/// A crowded room delivers its members in slices, a slice at a time, each member still once.
#[test]
fn crowded_rooms_deliver_in_slices() {
    let mut h = Harness::new(Config {
        crowd_members: 40,
        crowd_slices: 4,
        ..Config::default()
    });
    let ann = h.join("Ann", Role::Editor, true);
    let viewers: Vec<MemberId> = (0..79).map(|_| h.join("V", Role::Viewer, true)).collect();
    h.tick();
    while h.room.deliver_due(h.now).is_some() {
        h.now += h.room.tick_interval();
    }
    for v in &viewers {
        h.frames(*v);
    }
    h.now += h.room.tick_interval();
    h.send(ann, begin(1, 1.0));
    let mut served = Vec::new();
    let mut next = Some(Duration::ZERO);
    while let Some(wait) = next {
        h.now += wait;
        next = h.room.deliver_due(h.now);
        let got = viewers.iter().filter(|v| !h.frames(**v).is_empty()).count();
        served.push(got);
    }
    served.sort_unstable();
    assert_eq!(
        served,
        [19, 20, 20, 20],
        "a quarter at a time, everyone once"
    );
}

/// A failed store write takes back every op not yet durable: no `commit` for it, an error
/// naming it for its author, its stroke dropped everywhere, the room read-only and reloaded
/// as stored; a successful probe lets drawing resume, reusing the seq.
#[test]
fn store_failure_takes_back_ops_and_recovers() {
    let mut h = Harness::new(Config::default());
    let ann = h.join("Ann", Role::Editor, true);
    let vic = h.join("Vic", Role::Viewer, true);
    // What the store holds: stroke 1, replayed into a document as a load would.
    let mut stored_doc = Document::new(
        Canvas::new(400, 300).expect("canvas"),
        0,
        h.room.config.undo_depth,
        h.room.config.checkpoint_every,
    );
    let _ = h.room.handle(ann, begin(1, 10.0), h.now);
    let _ = h.room.handle(ann, Command::StrokeEnd { stroke: 1 }, h.now);
    for e in h.room.take_effects() {
        if let Effect::Persist {
            seq,
            author,
            record,
            ..
        } = e
        {
            stored_doc.commit(&author, record.to_op().expect("an op"));
            h.room.stored(seq, None, h.now);
        }
    }
    h.tick();
    h.frames(ann);
    h.frames(vic);

    // Stroke 2 ends; its write fails.
    let _ = h.room.handle(ann, begin(2, 50.0), h.now);
    let _ = h.room.handle(ann, Command::StrokeEnd { stroke: 2 }, h.now);
    let _ = h.room.handle(ann, begin(3, 90.0), h.now);
    assert_eq!(h.room.doc().seq(), 2);
    let effects = h.room.take_effects();
    assert!(effects
        .iter()
        .any(|e| matches!(e, Effect::Persist { seq: 2, .. })));
    h.room.stored(2, Some("database or disk is full"), h.now);
    let effects = h.room.take_effects();
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::Reload { upto: 1 })),
        "reloads as stored at seq 1: {effects:?}"
    );
    h.now += h.room.config.tick_max;
    h.room.deliver_due(h.now);
    let msgs = h.messages(ann);
    assert!(
        !msgs.iter().any(|m| matches!(m, ServerMsg::Commit { .. })),
        "no commit for an op that is not stored: {msgs:?}"
    );
    assert!(msgs.iter().any(|m| matches!(
        m,
        ServerMsg::Error {
            code: ErrorCode::StoreUnavailable,
            seq: Some(2),
            stroke: Some(2),
            ..
        }
    )));
    for id in [ann, vic] {
        let msgs = if id == ann {
            msgs.clone()
        } else {
            h.messages(vic)
        };
        for stroke in [2, 3] {
            assert!(
                msgs.iter().any(|m| matches!(
                    m,
                    ServerMsg::StrokeDropped { author, stroke: s } if *author == ann && *s == stroke
                )),
                "stroke {stroke} dropped for {id}: {msgs:?}"
            );
        }
        assert!(msgs.iter().any(|m| matches!(
            m,
            ServerMsg::Editing {
                allowed: false,
                reason: Some(ErrorCode::StoreUnavailable),
                ..
            }
        )));
    }

    // Read-only meanwhile.
    let refused = h.room.handle(ann, begin(4, 10.0), h.now);
    assert_eq!(
        refused.map_err(|e| e.code),
        Err(ErrorCode::StoreUnavailable)
    );

    // Back at what is stored; the touched tiles go out again; a probe is asked for.
    h.room.reloaded(stored_doc, h.now);
    assert_eq!(h.room.doc().seq(), 1);
    let effects = h.room.take_effects();
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::EncodeTiles {
            seq: 1,
            send: true,
            ..
        }
    )));
    let first = h.room.config.store_retry_min;
    assert!(effects
        .iter()
        .any(|e| matches!(e, Effect::Probe { after, durable: 1 } if *after == first)));
    h.room.probed(false, h.now);
    let effects = h.room.take_effects();
    assert!(effects
        .iter()
        .any(|e| matches!(e, Effect::Probe { after, .. } if *after == first * 2)));
    h.room.probed(true, h.now);
    h.tick();
    assert!(h.messages(vic).iter().any(|m| matches!(
        m,
        ServerMsg::Editing {
            allowed: true,
            reason: None,
            ..
        }
    )));

    // Drawing resumes at the taken-back seq.
    h.send(ann, begin(5, 10.0));
    h.send(ann, Command::StrokeEnd { stroke: 5 });
    h.tick();
    assert!(h.messages(vic).iter().any(|m| matches!(
        m,
        ServerMsg::Commit {
            seq: 2,
            stroke: Some(5),
            ..
        }
    )));
}

fn preview(id: u32, x1: f32) -> Command {
    Command::ShapePreview {
        id,
        shape: Some(crate::protocol::PreviewShape {
            kind: crate::canvas::ShapeKind::Rect,
            x0: 10.0,
            y0: 10.0,
            x1,
            y1: 50.0,
            color: "#e03131".into(),
            width: 6.0,
            fill: false,
        }),
    }
}

/// The x1 of every shape preview in a member's messages (`None` for a cancel).
fn previews_seen(msgs: &[ServerMsg<'static>]) -> Vec<(MemberId, u32, Option<f32>)> {
    msgs.iter()
        .filter_map(|m| match m {
            ServerMsg::ShapePreview {
                author,
                id,
                x1,
                cancel,
                ..
            } => Some((*author, *id, if *cancel { None } else { *x1 })),
            _ => None,
        })
        .collect()
}

/// A dragged shape reaches the others once a tick (the latest position only), never its author,
/// and nothing of it is stored; a cancel reaches them too, a commit needs no cancel.
#[test]
fn shape_previews_are_relayed_once_a_tick_and_never_stored() {
    let mut h = Harness::new(Config::default());
    let ann = h.join("Ann", Role::Editor, true);
    let bob = h.join("Bob", Role::Editor, true);
    let vic = h.join("Vic", Role::Viewer, true);
    h.tick();
    for id in [ann, bob, vic] {
        h.frames(id);
    }
    for x in [100.0, 120.0, 140.0] {
        h.send(ann, preview(7, x));
    }
    assert!(h.room.take_effects().is_empty(), "nothing to store");
    h.tick();
    for id in [bob, vic] {
        assert_eq!(previews_seen(&h.messages(id)), [(ann, 7, Some(140.0))]);
    }
    assert!(previews_seen(&h.messages(ann)).is_empty(), "no echo");

    // Cancelled: the others drop it.
    h.send(ann, Command::ShapePreview { id: 7, shape: None });
    h.tick();
    assert_eq!(previews_seen(&h.messages(bob)), [(ann, 7, None)]);

    // Dragged again and committed: the commit ends it, and a position not relayed yet never is.
    h.send(ann, preview(8, 200.0));
    h.tick();
    h.send(ann, preview(8, 210.0));
    h.send(
        ann,
        Command::Shape {
            id: Some(8),
            shape: crate::canvas::Shape {
                kind: crate::canvas::ShapeKind::Rect,
                x0: 10.0,
                y0: 10.0,
                x1: 210.0,
                y1: 50.0,
                color: Rgba {
                    r: 224,
                    g: 49,
                    b: 49,
                    a: 255,
                },
                width: 6.0,
                filled: false,
            },
        },
    );
    h.tick();
    h.tick();
    let msgs = h.messages(bob);
    assert_eq!(previews_seen(&msgs), [(ann, 8, Some(200.0))]);
    assert!(msgs.iter().any(|m| matches!(
        m,
        ServerMsg::Commit { author, id: Some(8), .. } if *author == ann
    )));
}

/// Viewers cannot preview; a preview whose shape is refused is cancelled for the others.
#[test]
fn shape_previews_need_an_editor_and_end_when_refused() {
    let mut h = Harness::new(Config::default());
    let ann = h.join("Ann", Role::Editor, true);
    let vic = h.join("Vic", Role::Viewer, true);
    h.tick();
    h.frames(ann);
    h.frames(vic);
    assert_eq!(
        h.room
            .handle(vic, preview(1, 90.0), h.now)
            .map_err(|e| e.code),
        Err(ErrorCode::ReadOnly)
    );
    h.tick();
    assert!(previews_seen(&h.messages(ann)).is_empty());

    h.send(ann, preview(3, 90.0));
    h.tick();
    assert_eq!(previews_seen(&h.messages(vic)), [(ann, 3, Some(90.0))]);
    h.room.set_locked(true, h.now);
    let refused = h.room.handle(
        ann,
        Command::Shape {
            id: Some(3),
            shape: crate::canvas::Shape {
                kind: crate::canvas::ShapeKind::Rect,
                x0: 10.0,
                y0: 10.0,
                x1: 90.0,
                y1: 50.0,
                color: Rgba {
                    r: 0,
                    g: 0,
                    b: 0,
                    a: 255,
                },
                width: 6.0,
                filled: false,
            },
        },
        h.now,
    );
    assert_eq!(refused.map_err(|e| e.code), Err(ErrorCode::RoomLocked));
    h.tick();
    assert_eq!(previews_seen(&h.messages(vic)), [(ann, 3, None)]);

    // Leaving ends a preview without a word (member_left says it).
    h.room.set_locked(false, h.now);
    h.send(ann, preview(4, 95.0));
    h.room.leave(ann, h.now);
    h.tick();
    assert!(previews_seen(&h.messages(vic)).is_empty());
}

/// An image op asks for its pixels off the loop (an effect) and commits only once they are
/// placed; a failed placement is an `error` with the op's id and changes nothing; a member gone
/// meanwhile gets nothing; and the rectangle's pixels count against the budget.
#[test]
fn image_ops_are_placed_off_the_loop() {
    use crate::canvas::{Picture, Placement};
    use crate::protocol::{OpKind, ProtoError};
    let mut h = Harness::new(Config {
        paint_burst_pixels: 50_000.0,
        paint_pixels_per_second: 1000.0,
        ..Config::default()
    });
    let ann = h.join("Ann", Role::Editor, true);
    h.tick();
    h.frames(ann);
    let at = Placement::from_rect(10.0, 20.0, 200.0, 150.0).expect("valid");
    let image = |id| Command::Image {
        id: Some(id),
        image: "abc".into(),
        at,
    };
    assert_eq!(h.room.handle(ann, image(3), h.now), Ok(()));
    let asked: Vec<Effect> = h.room.take_effects();
    assert!(
        matches!(&asked[..], [Effect::PlaceImage { member, client_id: Some(3), image, at: a }]
            if *member == ann && image == "abc" && *a == at),
        "{asked:?}"
    );
    assert_eq!(
        h.room.doc().seq(),
        0,
        "nothing commits before the pixels are ready"
    );

    let source = image::RgbaImage::from_pixel(4, 3, image::Rgba([0, 0, 255, 255]));
    let picture = Picture::new("abc".into(), &source, at, 400, 300);
    assert_eq!(
        h.room.image_placed(ann, Some(3), Ok(picture), h.now),
        Ok(())
    );
    h.store_all();
    assert_eq!(h.room.doc().seq(), 1);
    let unknown = ProtoError::new(ErrorCode::UnknownImage, "no such image");
    let refused = h.room.image_placed(ann, Some(4), Err(unknown), h.now);
    assert_eq!(refused.map_err(|e| e.code), Err(ErrorCode::UnknownImage));
    assert_eq!(
        h.room.image_placed(
            99,
            Some(5),
            Err(ProtoError::new(ErrorCode::Internal, "x")),
            h.now
        ),
        Ok(()),
        "a member gone meanwhile is not answered"
    );
    h.tick();
    let seen: Vec<String> = h
        .messages(ann)
        .iter()
        .filter_map(|m| match m {
            ServerMsg::Commit { op, id, .. } => Some(format!("commit {op:?} {id:?}")),
            ServerMsg::Error { code, id, .. } => Some(format!("error {code:?} {id:?}")),
            _ => None,
        })
        .collect();
    assert_eq!(
        seen,
        [
            format!("commit {:?} Some(3)", OpKind::Image),
            format!("error {:?} Some(4)", ErrorCode::UnknownImage)
        ]
    );
    assert_eq!(h.room.doc().seq(), 1);
    // 200x150 = 30,000 pixels of a 50,000 burst: a second image goes into debt, and a third
    // is refused.
    let _ = h.room.handle(ann, image(6), h.now);
    let refused = h.room.handle(ann, image(7), h.now);
    assert_eq!(refused.map_err(|e| e.code), Err(ErrorCode::RateLimited));
}

/// A stroke's `begin` with a client op id.
fn begin_op(stroke: u32, x: f32, id: &str) -> Command {
    let mut cmd = begin(stroke, x);
    if let Command::StrokeBegin { op, .. } = &mut cmd {
        *op = Some(id.into());
    }
    cmd
}

/// Ann commits stroke 1 with op id `op-a`, not yet durable (its `Persist` taken), and a
/// second member, Ann after a reconnect, sends it again as its stroke 7: (Ann, the second).
fn resent_while_pending(h: &mut Harness) -> (MemberId, MemberId) {
    let ann = h.join("Ann", Role::Editor, true);
    let _ = h.room.handle(ann, begin_op(1, 10.0, "op-a"), h.now);
    let _ = h.room.handle(ann, Command::StrokeEnd { stroke: 1 }, h.now);
    let persisted: Vec<u64> = h
        .room
        .take_effects()
        .into_iter()
        .filter_map(|e| match e {
            Effect::Persist { seq, .. } => Some(seq),
            _ => None,
        })
        .collect();
    assert_eq!(persisted, [1]);
    let again = h.join("Ann again", Role::Editor, true);
    h.messages(again);
    let _ = h.room.handle(again, begin_op(7, 10.0, "op-a"), h.now);
    let _ = h
        .room
        .handle(again, Command::StrokeEnd { stroke: 7 }, h.now);
    (ann, again)
}

/// The commits a member was told of: (seq, author, stroke).
fn commits(msgs: &[ServerMsg<'_>]) -> Vec<(u64, MemberId, Option<u32>)> {
    msgs.iter()
        .filter_map(|m| match m {
            ServerMsg::Commit {
                seq,
                author,
                stroke,
                ..
            } => Some((*seq, *author, *stroke)),
            _ => None,
        })
        .collect()
}

/// A stroke sent again with the op id of one the room committed (its sender reconnected
/// before the commit reached it) is answered with that commit, to the sender alone, and is
/// neither drawn again, stored again nor shown to others. A new op id is drawn as usual.
#[test]
fn a_stroke_sent_again_with_its_op_id_is_answered_not_drawn_twice() {
    let mut h = Harness::new(Config::default());
    let ann = h.join("Ann", Role::Editor, true);
    let vic = h.join("Vic", Role::Viewer, true);
    h.send(ann, begin_op(1, 10.0, "op-a"));
    h.send(ann, Command::StrokeEnd { stroke: 1 });
    h.tick();
    assert_eq!(commits(&h.messages(ann)), [(1, ann, Some(1))]);
    h.messages(vic);
    // Ann's connection dropped; she is back as a new member and sends the stroke again.
    h.room.leave(ann, h.now);
    let ann2 = h.join("Ann", Role::Editor, true);
    h.messages(ann2);
    h.send(ann2, begin_op(1, 10.0, "op-a"));
    h.send(ann2, points(1, 20.0));
    h.send(ann2, Command::StrokeEnd { stroke: 1 });
    assert!(
        !h.room
            .take_effects()
            .iter()
            .any(|e| matches!(e, Effect::Persist { .. })),
        "nothing is stored again"
    );
    h.tick();
    assert_eq!(h.room.doc().seq(), 1, "not drawn twice");
    assert_eq!(commits(&h.messages(ann2)), [(1, ann2, Some(1))]);
    let seen = h.messages(vic);
    assert!(
        !seen.iter().any(|m| matches!(
            m,
            ServerMsg::StrokeBegin { .. }
                | ServerMsg::StrokePoints { .. }
                | ServerMsg::Commit { .. }
        )),
        "others see nothing of it: {seen:?}"
    );
    // Another op id is another stroke.
    h.send(ann2, begin_op(2, 30.0, "op-b"));
    h.send(ann2, Command::StrokeEnd { stroke: 2 });
    h.tick();
    assert_eq!(h.room.doc().seq(), 2);
    assert_eq!(commits(&h.messages(vic)), [(2, ann2, Some(2))]);
}

/// Sent again while the first commit is still waiting for the store, the answer waits too:
/// no `commit` before the op is durable. Op ids of a room loaded from the store are known.
#[test]
fn a_repeated_op_is_answered_once_durable_and_known_after_a_load() {
    let mut h = Harness::new(Config::default());
    let (ann, bob) = resent_while_pending(&mut h);
    h.tick();
    assert!(commits(&h.messages(bob)).is_empty(), "not durable yet");
    h.room.stored(1, None, h.now);
    h.tick();
    // Everyone's commit of Ann's stroke, then the answer to the one sent again.
    assert_eq!(
        commits(&h.messages(bob)),
        [(1, ann, Some(1)), (1, bob, Some(7))]
    );
    assert_eq!(h.room.doc().seq(), 1);

    // A freshly loaded room learns the op ids from the store.
    let mut fresh = Harness::new(Config::default());
    fresh.room.remember_client_ops(vec![("op-z".into(), 0)]);
    let cy = fresh.join("Cy", Role::Editor, true);
    fresh.send(cy, begin_op(1, 10.0, "op-z"));
    fresh.send(cy, Command::StrokeEnd { stroke: 1 });
    fresh.tick();
    assert_eq!(fresh.room.doc().seq(), 0);
    assert_eq!(commits(&fresh.messages(cy)), [(0, cy, Some(1))]);
}

/// Sent again while the first is still waiting for the store, and then the store fails: the
/// member who sent it again is told it was not saved (an error and `stroke_dropped` for its
/// own stroke id), not left waiting for a commit that never comes.
#[test]
fn a_repeated_op_taken_back_by_a_store_failure_is_refused_to_its_sender() {
    let mut h = Harness::new(Config::default());
    let (_, bob) = resent_while_pending(&mut h);
    h.room.stored(1, Some("disk full"), h.now);
    h.tick();
    let told = h.messages(bob);
    assert!(
        told.iter().any(|m| matches!(
            m,
            ServerMsg::Error {
                code: ErrorCode::StoreUnavailable,
                stroke: Some(7),
                ..
            }
        )),
        "an error for its stroke: {told:?}"
    );
    assert!(
        told.iter().any(|m| matches!(
            m,
            ServerMsg::StrokeDropped { author, stroke: 7 } if *author == bob
        )),
        "stroke_dropped for its stroke: {told:?}"
    );
    assert!(commits(&told).is_empty(), "no commit: {told:?}");
}
