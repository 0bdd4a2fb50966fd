//! The second half of an image op: once its pixels are ready (decoded and scaled off the room's
//! loop, see [`Effect::PlaceImage`](super::Effect::PlaceImage)), it is committed like any op, or
//! its author is told why not.

use std::time::Instant;

use super::RoomState;
use crate::canvas::{Op, Picture};
use crate::protocol::{MemberId, OpKind, ProtoError};

impl RoomState {
    /// The pixels of `member`'s image op are ready (or loading them failed). Commits the op,
    /// unless the member has left or may no longer draw; a refusal is sent to the member as
    /// `error` with the op's client id (and returned, for tests and logs).
    pub fn image_placed(
        &mut self,
        member: MemberId,
        client_id: Option<u32>,
        picture: Result<Picture, ProtoError>,
        now: Instant,
    ) -> Result<(), ProtoError> {
        if !self.members.contains_key(&member) {
            // Left while the image was being scaled; nothing to answer.
            return Ok(());
        }
        let result = if let Some(refusal) = self.drawing_refusal(member) {
            Err(refusal)
        } else {
            picture.map(|p| {
                self.commit(member, Op::Image(p), OpKind::Image, None, client_id, now);
            })
        };
        if let Err(e) = &result {
            self.refuse(member, e, client_id);
        }
        result
    }
}
