//! Cluster mode: members delivered from the bus. A viewer relayed by another node gets its
//! share of the room's common traffic (the frame every such viewer shares) from the Redis bus,
//! which the room publishes once a tick, instead of through its own relay; what is for it
//! alone (answers, errors) still goes through the relay. See `docs/cluster.md`.

use std::time::{Duration, Instant};

use super::RoomState;
use crate::cluster::fanout::{BusFrame, BusStart};
use crate::protocol::{close, MemberId};
use crate::room::member::Member;
use crate::room::outbox::Outgoing;

/// The first pause of switching after a failed publish, and the longest.
pub(super) const FIRST_PAUSE: Duration = Duration::from_secs(1);
const MAX_PAUSE: Duration = Duration::from_secs(60);

impl RoomState {
    /// Members delivered from the bus now.
    pub fn bus_members(&self) -> usize {
        self.bus_members
    }

    /// Numbers this run's bus frames after `base` (see [`crate::cluster::fanout::chain_base`]).
    pub fn set_bus_base(&mut self, base: u64) {
        self.log.set_bus_base(base);
    }

    /// Whether the bus works now: members are switched to it only while it does.
    pub fn set_bus_ready(&mut self, ready: bool) {
        self.bus_ready = ready;
    }

    /// Frames for the bus made since the last call, in order: publish them in that order.
    pub fn take_bus(&mut self) -> Vec<BusFrame> {
        self.log.take_bus()
    }

    /// Switches every member that can be delivered from the bus and is not yet: everything
    /// said so far is delivered first, then each is told through its relay the chain number it
    /// has everything up to. Bus members that fell behind on their own traffic are closed with
    /// 4008 (a resync through the relay would race the bus). Once no member is left on the
    /// bus, the room stops publishing. Nobody is switched while the bus does not work, nor
    /// for a while after a publish of this room failed.
    pub(super) fn switch_to_bus(&mut self, now: Instant) {
        self.drop_members(
            |m| m.bus.is_some() && m.lagging,
            close::LAGGING,
            "too far behind; reconnect to catch up",
        );
        if self.bus_members == 0 && self.log.bus_on() {
            self.log.stop_bus();
        }
        let paused = self.bus_paused_until.is_some_and(|t| now < t);
        if !self.bus_ready
            || paused
            || !self
                .members
                .values()
                .any(|m| m.bus_able && m.bus.is_none() && !m.lagging)
        {
            return;
        }
        self.log.deliver_all(&mut self.members);
        self.log.start_bus();
        let from = self.log.bus_seq();
        for m in self.members.values_mut() {
            if !m.bus_able || m.bus.is_some() || m.lagging {
                continue;
            }
            let start = BusStart {
                from,
                seq: m.joined_seq,
            };
            if m.push(Outgoing::Text(start.encode().into())) {
                m.bus = Some(from);
                self.bus_members += 1;
            }
        }
    }

    /// The bus frame `seq` could not be published: the members fed from the bus who needed it
    /// (switched before it) are closed with 1012 and reconnect, resyncing through their relay.
    /// The room switches nobody for a pause (1 s; a failure after a pause, within a minute of
    /// it, doubles the next, up to a minute); members stay on their relays meanwhile.
    pub fn bus_failed(&mut self, seq: u64, now: Instant) {
        self.close_bus_members(0, seq);
        if self.bus_paused_until.is_some_and(|t| now < t) {
            // One outage loses many frames: it pauses the room once.
            return;
        }
        let recent = self.bus_paused_until.is_some_and(|t| now < t + MAX_PAUSE);
        self.bus_pause = if recent {
            (self.bus_pause * 2).min(MAX_PAUSE)
        } else {
            FIRST_PAUSE
        };
        self.bus_paused_until = Some(now + self.bus_pause);
    }

    /// Closes with 1012 the members fed from the bus whose switch point is in `from..below`.
    pub(super) fn close_bus_members(&mut self, from: u64, below: u64) {
        let gone = self.drop_members(
            |m| m.bus.is_some_and(|at| (from..below).contains(&at)),
            close::MOVED,
            "the live feed was interrupted; reconnecting",
        );
        if gone > 0 {
            tracing::warn!(room = %self.meta.id, members = gone, "bus frames lost to members; they reconnect");
        }
    }

    /// Closes the members `which` picks with `code` and `reason`, and forgets them; returns
    /// how many.
    fn drop_members(&mut self, which: impl Fn(&Member) -> bool, code: u16, reason: &str) -> usize {
        let gone: Vec<MemberId> = self
            .members
            .values()
            .filter(|m| which(m))
            .map(|m| m.info.id)
            .collect();
        for id in &gone {
            if let Some(m) = self.members.remove(id) {
                m.outbox.close(code, reason);
                self.forget(&m);
            }
        }
        gone.len()
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use bytes::Bytes;

    use super::super::{testkit, RoomState};
    use crate::canvas::TileId;
    use crate::cluster::fanout::{BusBody, BusStart};
    use crate::protocol::{close, Command, Role};
    use crate::room::outbox::{OutboxRx, Outgoing};

    /// Text frames queued for a member.
    fn texts(rx: &mut OutboxRx) -> Vec<String> {
        std::iter::from_fn(|| rx.try_recv())
            .filter_map(|o| match o {
                Outgoing::Text(t) => Some(t.to_string()),
                _ => None,
            })
            .collect()
    }

    /// A room (its bus numbered from 1000) with an editor and a viewer on this node and a
    /// viewer relayed by a node with the bus; everything from the joins read.
    fn room() -> (RoomState, [(u64, OutboxRx); 3], Instant) {
        let mut room = testkit::room();
        room.set_bus_base(1000);
        let ann = testkit::join(&mut room, Role::Editor);
        let direct = testkit::join(&mut room, Role::Viewer);
        let relayed = testkit::join_relayed(&mut room, Role::Viewer, 64);
        let mut members = [ann, direct, relayed];
        let now = Instant::now() + Duration::from_secs(1);
        room.deliver_due(now);
        for (_, rx) in &mut members {
            texts(rx);
        }
        (room, members, now)
    }

    #[test]
    fn relayed_viewers_are_fed_from_the_bus_once_it_works() {
        let (mut room, [ann, mut direct, mut relayed], mut now) = room();
        // The bus does not work yet: nobody is switched.
        room.tick(now);
        assert_eq!(room.bus_members(), 0);
        assert!(texts(&mut relayed.1).iter().all(|t| !t.contains("_bus")));

        room.set_bus_ready(true);
        now += Duration::from_millis(100);
        room.tick(now);
        assert_eq!(room.bus_members(), 1, "only the relayed viewer");
        // What was said before (presence) came first, through the relay; the switch last.
        let told = texts(&mut relayed.1);
        assert_eq!(
            told.last().and_then(|t| BusStart::decode(t.as_bytes())),
            Some(BusStart { from: 1000, seq: 0 }),
            "{told:?}"
        );
        texts(&mut direct.1);

        let _ = room.handle(ann.0, testkit::begin(1, 10.0), now);
        now += Duration::from_secs(1);
        room.deliver_due(now);
        let bus = room.take_bus();
        assert_eq!(bus.len(), 1, "{bus:?}");
        assert_eq!((bus[0].after, bus[0].seq), (1000, 1001));
        let BusBody::Text(frame) = &bus[0].body else {
            panic!("a text frame: {bus:?}");
        };
        assert!(frame.contains("stroke_begin"), "{frame}");
        // The viewer on this node gets the same frame from the room, the bus-fed one nothing.
        assert_eq!(texts(&mut direct.1), vec![frame.to_string()]);
        assert!(texts(&mut relayed.1).is_empty());

        // What is for the bus-fed member alone still comes through its relay.
        let _ = room.handle(relayed.0, Command::Undo, now);
        now += Duration::from_secs(1);
        room.deliver_due(now);
        let own = texts(&mut relayed.1);
        assert!(own.len() == 1 && own[0].contains("read_only"), "{own:?}");
        assert!(room.take_bus().is_empty(), "nothing for everyone");
    }

    #[test]
    fn tile_rounds_go_on_the_bus_not_to_its_members() {
        let (mut room, [ann, _direct, mut relayed], mut now) = room();
        room.set_bus_ready(true);
        room.tick(now);
        texts(&mut relayed.1);
        let _ = room.handle(ann.0, testkit::begin(1, 10.0), now);
        let frames = vec![(TileId { col: 0, row: 0 }, Bytes::from_static(b"tile"))];
        room.tiles_encoded(frames, 1, true, now);
        now += Duration::from_secs(1);
        room.deliver_due(now);
        let bus = room.take_bus();
        assert!(
            bus.iter()
                .any(|f| matches!(&f.body, BusBody::Tiles { seq: 1, frames } if frames.len() == 1)),
            "{bus:?}"
        );
        let chain: Vec<(u64, u64)> = bus.iter().map(|f| (f.after, f.seq)).collect();
        assert!(
            chain.windows(2).all(|w| w[0].1 == w[1].0),
            "one chain: {chain:?}"
        );
        assert!(
            std::iter::from_fn(|| relayed.1.try_recv()).all(|o| !matches!(o, Outgoing::Binary(_)))
        );
    }

    #[test]
    fn a_lost_bus_frame_sends_the_members_who_needed_it_to_reconnect() {
        let (mut room, [ann, direct, first], mut now) = room();
        room.set_bus_ready(true);
        room.tick(now);
        // Frame 1001 is made after the first viewer's switch; a second viewer switches after it.
        let _ = room.handle(ann.0, testkit::begin(1, 10.0), now);
        now += Duration::from_secs(1);
        room.deliver_due(now);
        assert_eq!(room.take_bus().last().map(|f| f.seq), Some(1001));
        let second = testkit::join_relayed(&mut room, Role::Viewer, 64);
        room.tick(now);
        assert_eq!(room.bus_members(), 2);

        room.bus_failed(1001, now);
        assert_eq!(
            room.bus_members(),
            1,
            "only the member who needed 1001 goes"
        );
        assert_eq!(room.status().viewers, 2);
        // Nobody is switched for a while (more frames lost meanwhile do not make it longer);
        // then again.
        let third = testkit::join_relayed(&mut room, Role::Viewer, 64);
        room.bus_failed(1001, now + Duration::from_millis(400));
        room.tick(now + Duration::from_millis(500));
        assert_eq!(room.bus_members(), 1, "paused");
        room.tick(now + Duration::from_millis(1100));
        assert_eq!(room.bus_members(), 2, "switched after the pause");
        // A second failure soon after pauses twice as long.
        room.bus_failed(1001, now + Duration::from_millis(1200));
        room.tick(now + Duration::from_millis(2300));
        let fourth = testkit::join_relayed(&mut room, Role::Viewer, 64);
        room.tick(now + Duration::from_millis(2400));
        assert_eq!(room.bus_members(), 2, "still paused");
        drop(room);
        assert_eq!(first.1.close_note().map(|n| n.code), Some(close::MOVED));
        assert_eq!(second.1.close_note(), None);
        assert_eq!(direct.1.close_note(), None);
        drop((third, fourth));
    }

    #[test]
    fn a_rollback_sends_bus_members_to_reconnect() {
        let (mut room, [ann, _direct, relayed], now) = room();
        room.set_bus_ready(true);
        room.tick(now);
        let _ = room.handle(ann.0, testkit::begin(1, 10.0), now);
        let _ = room.handle(ann.0, Command::StrokeEnd { stroke: 1 }, now);
        // The store fails the op, and the room reloads what is stored.
        room.stored(1, Some("disk full"), now);
        let doc = crate::canvas::Document::new(
            crate::canvas::Canvas::new(room.meta().width, room.meta().height).expect("canvas"),
            0,
            8,
            8,
        );
        room.reloaded(doc, now);
        assert_eq!(room.bus_members(), 0);
        drop(room);
        assert_eq!(relayed.1.close_note().map(|n| n.code), Some(close::MOVED));
    }

    #[test]
    fn a_bus_member_behind_on_its_own_traffic_is_dropped() {
        let mut room = testkit::room();
        let (_, mut rx) = testkit::join_relayed(&mut room, Role::Viewer, 8);
        room.set_bus_ready(true);
        let now = Instant::now();
        room.tick(now);
        assert_eq!(room.bus_members(), 1);
        // Its outbox fills with answers for it alone; its relay then drains it. It is closed,
        // not resynced through the relay (its feed would race the resync).
        for _ in 0..20 {
            let _ = room.handle(1, Command::Undo, now);
            room.flush();
        }
        while rx.try_recv().is_some() {}
        room.tick(now);
        assert_eq!(room.bus_members(), 0);
        assert_eq!(room.status().viewers, 0);
        while rx.try_recv().is_some() {}
        assert_eq!(rx.close_note().map(|n| n.code), Some(close::LAGGING));
    }
}
