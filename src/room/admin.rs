//! The Room actor's side of the admin API: lock and unlock, kick a member, live facts for
//! operators, and recording when the room was last used (its retention counts from then).

use std::time::Instant;

use actix::{Context, Handler, Message, MessageResult};

use super::actor::Room;
use super::state::RoomStatus;
use crate::protocol::MemberId;
use crate::store::{unix_now, FactUpdate};

/// An operator locks (`true`) or unlocks the room. The caller has stored the lock already,
/// so it also holds after the room is unloaded.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct SetLocked(pub bool);

impl Handler<SetLocked> for Room {
    type Result = ();

    fn handle(&mut self, SetLocked(locked): SetLocked, ctx: &mut Context<Self>) {
        self.state.set_locked(locked, Instant::now());
        self.run_effects(ctx);
    }
}

/// An operator removes a member (its socket closes with 4003 and the reason); answers whether
/// the member was here.
#[derive(Debug, Message)]
#[rtype(result = "bool")]
pub struct Kick {
    /// Who.
    pub member: MemberId,
    /// Said in the close frame.
    pub reason: String,
}

impl Handler<Kick> for Room {
    type Result = bool;

    fn handle(&mut self, kick: Kick, ctx: &mut Context<Self>) -> bool {
        let found = self.state.kick(kick.member, &kick.reason, Instant::now());
        self.run_effects(ctx);
        found
    }
}

/// What an operator sees of a running room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiveFacts {
    /// Seq and member counts.
    pub status: RoomStatus,
    /// Whether an operator locked it.
    pub locked: bool,
}

/// Asks a running room for its [`LiveFacts`].
#[derive(Debug, Message)]
#[rtype(result = "LiveFacts")]
pub struct Live;

impl Handler<Live> for Room {
    type Result = MessageResult<Live>;

    fn handle(&mut self, _: Live, _: &mut Context<Self>) -> Self::Result {
        MessageResult(LiveFacts {
            status: self.state.status(),
            locked: self.state.locked(),
        })
    }
}

impl Room {
    /// Records that the room is in use now (it is loading or unloading): its retention starts
    /// again. Once on each, never per op.
    pub(super) fn touch(&self) {
        let room = self.state.meta().id;
        self.store.update_facts(
            FactUpdate::Touch {
                room,
                at: unix_now(),
            },
            Box::new(move |result| {
                if let Err(e) = result {
                    tracing::warn!(%room, "could not record when the room was used: {e}");
                }
            }),
        );
    }
}
