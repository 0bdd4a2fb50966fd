//! The owner's revert: every op of one member still in the history window taken back as one op,
//! which the owner can undo and redo like any of their own.

use std::time::Instant;

use super::{Audience, RoomState};
use crate::protocol::{ErrorCode, MemberId, OpKind, ProtoError, Role, ServerMsg};
use crate::room::cost;
use crate::store::Record;

impl RoomState {
    /// Reverts `member`'s ops for `from`, who must be the owner (`forbidden`). Refused like
    /// drawing while the room takes none (`locked`, `room_locked`, `store_unavailable`); a
    /// member not in the room, or the owner's own ops, are `bad_message`; a member with nothing
    /// left to take back is `nothing_to_undo`. Members drawing under the reverted key are told
    /// their new undo state at once.
    pub(super) fn revert(
        &mut self,
        from: MemberId,
        member: MemberId,
        now: Instant,
    ) -> Result<(), ProtoError> {
        let Some(owner) = self.members.get(&from) else {
            return Ok(());
        };
        if owner.info.role != Role::Owner {
            return Err(ProtoError::new(
                ErrorCode::Forbidden,
                "only the board's owner may revert someone's work",
            ));
        }
        let owner_key = owner.author_key.clone();
        if let Some(refusal) = self.editing_refusal() {
            return Err(refusal);
        }
        if self
            .members
            .get_mut(&from)
            .is_some_and(|m| m.paint.in_debt(now))
        {
            self.metrics.rate_limited_paint.inc();
            return Err(ProtoError::new(
                ErrorCode::RateLimited,
                format!(
                    "painting too much too fast (at most {} million pixels a second); wait a moment",
                    self.config.paint_pixels_per_second / 1e6
                ),
            ));
        }
        let Some(victim) = self.members.get(&member).map(|m| m.author_key.clone()) else {
            return Err(ProtoError::new(
                ErrorCode::BadMessage,
                format!("member {member} is not in this board"),
            ));
        };
        if victim == owner_key {
            return Err(ProtoError::new(
                ErrorCode::BadMessage,
                "you cannot revert your own work; use undo",
            ));
        }
        let Some(applied) = self.doc.revert(&owner_key, &victim) else {
            return Err(ProtoError::new(
                ErrorCode::NothingToUndo,
                format!("member {member} has nothing left to revert"),
            ));
        };
        let oldest = self.doc.reaches_back(applied.seq);
        self.reaching_back.push((applied.seq, oldest));
        if let Some(m) = self.members.get_mut(&from) {
            m.paint.charge(now, cost::tiles(applied.tiles.len()));
        }
        tracing::info!(room = %self.meta.id, member, seq = applied.seq, "owner reverted a member");
        let (can_undo, can_redo) = self.doc.can_undo_redo(&victim);
        let reverted: Vec<MemberId> = self
            .members
            .iter()
            .filter(|(_, m)| m.author_key == victim)
            .map(|(id, _)| *id)
            .collect();
        for id in reverted {
            self.log.push(
                &ServerMsg::History { can_undo, can_redo },
                Audience::Only(id),
            );
        }
        self.persist(
            owner_key,
            &applied,
            Record::Revert {
                author: victim,
                from: oldest,
            },
            Vec::new(),
        );
        self.announce(from, applied, OpKind::Revert, None, None, now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::{Duration, Instant};

    use crate::canvas::{Canvas, Document, Rgba, Shape, ShapeKind};
    use crate::config::Config;
    use crate::meta::RoomMeta;
    use crate::protocol::{Command, ErrorCode, MemberId, Role};
    use crate::room::outbox::OutboxRx;
    use crate::room::state::{testkit, Effect};
    use crate::room::{load, RoomState};
    use crate::store::{StoredOp, StoredRoom};

    /// A room and what a store would hold of it: every op, keyframes (kept whole here) and the
    /// base; and the live canvas at every seq, to compare replays with.
    struct Stored {
        room: RoomState,
        meta: RoomMeta,
        config: Config,
        now: Instant,
        base: u64,
        keyframes: BTreeMap<u64, Canvas>,
        ops: Vec<StoredOp>,
        bases_saved: usize,
        live: Vec<Canvas>,
        _rx: Vec<OutboxRx>,
    }

    impl Stored {
        fn new(config: Config) -> Stored {
            let meta = testkit::meta_sized(&config, 400, 300);
            let canvas = Canvas::new(400, 300).expect("canvas");
            let doc = Document::new(canvas, 0, config.undo_depth, config.checkpoint_every)
                .with_history_window(config.history_window);
            let now = Instant::now();
            let room = testkit::state_over(&meta, &config, doc, now);
            Stored {
                room,
                meta,
                config,
                now,
                base: 0,
                keyframes: BTreeMap::new(),
                ops: Vec::new(),
                bases_saved: 0,
                live: vec![Canvas::new(400, 300).expect("canvas")],
                _rx: Vec::new(),
            }
        }

        fn join(&mut self, role: Role) -> MemberId {
            let (id, rx) = testkit::join_with_outbox(&mut self.room, role, 1 << 12, 1 << 26);
            self._rx.push(rx);
            id
        }

        /// Handles a command a second after the last, and stores what it asks to.
        fn send(&mut self, id: MemberId, cmd: Command) -> Result<(), ErrorCode> {
            self.now += Duration::from_secs(1);
            let result = self.room.handle(id, cmd, self.now).map_err(|e| e.code);
            for e in self.room.take_effects() {
                match e {
                    Effect::Persist {
                        seq,
                        author,
                        record,
                        reach,
                        tiles,
                    } => {
                        self.ops.push(StoredOp {
                            seq,
                            author,
                            record,
                            at: reach.map(|r| r as i64),
                            tiles,
                        });
                        self.room.stored(seq, None, self.now);
                        self.live.push(self.room.doc.canvas().clone());
                    }
                    Effect::Keyframe {
                        seq,
                        tiles,
                        generation,
                    } => {
                        // Tiles changed since the last keyframe (all for the first).
                        let mut canvas = match self.keyframes.last_key_value() {
                            Some((_, c)) => c.clone(),
                            None => Canvas::new(400, 300).expect("canvas"),
                        };
                        for (id, tile) in tiles {
                            canvas.set_tile(id, tile);
                        }
                        assert!(same_pixels(&canvas, &self.live[seq as usize]));
                        self.keyframes.insert(seq, canvas);
                        self.room.keyframe_stored(seq, generation);
                    }
                    Effect::SetBase { seq } => {
                        assert!(self.keyframes.contains_key(&seq), "the base is a keyframe");
                        assert!(seq > self.base, "the base moves on");
                        self.base = seq;
                        self.bases_saved += 1;
                    }
                    _ => {}
                }
            }
            result
        }

        /// The server restarts: the room is loaded again from what is stored.
        fn restart(&mut self) {
            self.room = testkit::state_over(&self.meta, &self.config, self.reload(), self.now);
        }

        /// A short line inside the tile at (`col`, `row`).
        fn dab(&mut self, id: MemberId, col: u32, row: u32, i: u32) {
            let (x, y) = ((col * 256 + 20) as f32, (row * 256 + 20) as f32);
            let shape = Shape {
                kind: ShapeKind::Line,
                x0: x,
                y0: y + (i % 20) as f32,
                x1: x + 30.0,
                y1: y + 10.0,
                color: Rgba {
                    r: (i * 71 % 256) as u8,
                    g: 90,
                    b: 20,
                    a: 255,
                },
                width: 4.0,
                filled: false,
            };
            assert_eq!(self.send(id, Command::Shape { id: None, shape }), Ok(()));
        }

        fn line(&mut self, id: MemberId, i: u32) {
            let f = i as f32;
            let shape = Shape {
                kind: ShapeKind::Line,
                x0: (f * 37.0) % 400.0,
                y0: 10.0,
                x1: (f * 53.0 + 90.0) % 400.0,
                y1: 290.0,
                color: Rgba {
                    r: (i * 71 % 256) as u8,
                    g: 40,
                    b: 200,
                    a: 255,
                },
                width: 6.0,
                filled: false,
            };
            let drawn = self.send(id, Command::Shape { id: None, shape });
            assert_eq!(drawn, Ok(()));
        }

        /// The document a replay of the stored ops after keyframe `from` gives, up to `upto`.
        fn replay(&self, from: u64, upto: u64) -> Document {
            let base = match from {
                0 => Canvas::new(400, 300).expect("canvas"),
                k => self.keyframes[&k].clone(),
            };
            let stored = StoredRoom {
                meta: self.meta.clone(),
                base_seq: from,
                base,
                ops: self
                    .ops
                    .iter()
                    .filter(|o| o.seq > from && o.seq <= upto)
                    .cloned()
                    .collect(),
                images: std::collections::HashMap::new(),
            };
            let (_, doc) = load::rebuild(stored, &self.config).expect("replays");
            doc
        }

        /// The document a load of what is stored gives.
        fn reload(&self) -> Document {
            self.replay(self.base, u64::MAX)
        }

        /// The canvas at `seq` as time travel renders it: from the latest keyframe no op up to
        /// `seq` reaches behind (the reach is kept in `at` here).
        fn canvas_at(&self, seq: u64) -> Canvas {
            let reach = |k: u64| {
                self.ops
                    .iter()
                    .filter(|o| o.seq > k && o.seq <= seq)
                    .filter_map(|o| o.at)
                    .min()
                    .map_or(u64::MAX, |r| r as u64)
            };
            let start = self
                .keyframes
                .keys()
                .rev()
                .copied()
                .find(|&k| k <= seq && reach(k) > k)
                .unwrap_or(0);
            self.replay(start, seq).canvas().clone()
        }
    }

    fn same_pixels(a: &Canvas, b: &Canvas) -> bool {
        let white = Rgba {
            r: 255,
            g: 255,
            b: 255,
            a: 255,
        };
        a.snapshot().to_png(white) == b.snapshot().to_png(white)
    }

    /// Through reverts, the owner's undo and redo of them, and enough drawing for the history
    /// base to move on (and be saved) many times, what is stored always loads to the live canvas
    /// and seq: no base is saved past an op a stored revert (or its undo) needs; and the canvas
    /// at every seq, replayed from a keyframe, is the one the room had then.
    #[test]
    fn stored_reverts_replay_to_the_live_canvas() {
        let mut s = Stored::new(Config {
            undo_depth: 2,
            checkpoint_every: 2,
            history_window: 1000,
            keyframe_every: 3,
            ..Config::default()
        });
        let owner = s.join(Role::Owner);
        let ann = s.join(Role::Editor);
        let ed = s.join(Role::Editor);
        let mut i = 0;
        let mut draw = |s: &mut Stored, who: MemberId, n: u32| {
            for _ in 0..n {
                s.line(who, i);
                i += 1;
            }
        };
        let check = |s: &Stored, what: &str| {
            let doc = s.reload();
            assert_eq!(doc.seq(), s.room.doc.seq(), "{what}: seq");
            assert!(
                same_pixels(doc.canvas(), s.room.doc.canvas()),
                "{what}: the stored room loads to other pixels"
            );
        };
        draw(&mut s, ed, 3);
        draw(&mut s, ann, 6);
        assert_eq!(s.send(owner, Command::Revert { member: ed }), Ok(()));
        check(&s, "after the revert");
        draw(&mut s, ann, 8);
        check(&s, "drawing on");
        assert_eq!(s.send(owner, Command::Undo), Ok(()));
        draw(&mut s, ann, 8);
        check(&s, "after the owner's undo");
        assert_eq!(s.send(owner, Command::Redo), Ok(()));
        draw(&mut s, ed, 2);
        draw(&mut s, ann, 8);
        check(&s, "after the redo");
        assert_eq!(s.send(owner, Command::Revert { member: ed }), Ok(()));
        draw(&mut s, ann, 4);
        // The owner's own ops push both reverts off its undo stack (depth 2): history moves on.
        draw(&mut s, owner, 3);
        draw(&mut s, ann, 8);
        check(&s, "after the reverts left the owner's undo");
        assert!(s.bases_saved > 0, "the base moved on at least once");
        assert!(s.keyframes.len() > 10, "{} keyframes", s.keyframes.len());
        // Time travel: the canvas at every seq, from its keyframe, is what the room showed.
        for seq in 0..=s.room.doc.seq() {
            assert!(
                same_pixels(&s.canvas_at(seq), &s.live[seq as usize]),
                "the canvas at seq {seq}"
            );
        }
        assert_eq!(
            s.send(owner, Command::Revert { member: ed }),
            Err(ErrorCode::NothingToUndo)
        );
        assert_eq!(
            s.send(ann, Command::Revert { member: ed }),
            Err(ErrorCode::Forbidden)
        );
    }

    /// After a restart the room's first keyframe carries every tile: a tile last changed
    /// before the reloaded document's oldest checkpoint, but after the store's latest
    /// keyframe, is in it (each keyframe is checked against the live canvas as it is stored).
    #[test]
    fn the_first_keyframe_after_a_restart_is_whole() {
        let mut s = Stored::new(Config {
            undo_depth: 2,
            checkpoint_every: 2,
            history_window: 1000,
            keyframe_every: 40,
            ..Config::default()
        });
        let ann = s.join(Role::Editor);
        // Tile (0, 0) once, then tile (1, 1) until history has moved well past it.
        s.dab(ann, 0, 0, 0);
        for i in 1..20 {
            s.dab(ann, 1, 1, i);
        }
        assert!(
            s.room.doc.base_seq() > 1,
            "history moved past the first dab"
        );
        assert!(s.keyframes.is_empty(), "no keyframe yet");
        s.restart();
        let ann = s.join(Role::Editor);
        for i in 20..70 {
            s.dab(ann, 1, 1, i);
        }
        assert!(!s.keyframes.is_empty(), "a keyframe after the restart");
        for seq in 0..=s.room.doc.seq() {
            assert!(
                same_pixels(&s.canvas_at(seq), &s.live[seq as usize]),
                "the canvas at seq {seq}"
            );
        }
    }
}
