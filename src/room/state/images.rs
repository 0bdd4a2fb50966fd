//! The second half of an image op: once its pixels are ready (decoded and scaled off the room's
//! loop, see [`Effect::PlaceImage`](super::Effect::PlaceImage)), it is committed like any op, or
//! its author is told why not.

use std::borrow::Cow;
use std::time::Instant;

use super::{Audience, RoomState};
use crate::canvas::{Op, Picture};
use crate::protocol::{ErrorCode, MemberId, OpKind, ProtoError, ServerMsg};

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
        let Some(m) = self.members.get(&member) else {
            // Left while the image was being scaled; nothing to answer.
            return Ok(());
        };
        let result = if !m.is_editor() {
            Err(ProtoError::new(
                ErrorCode::ReadOnly,
                "this is a view-only link: you cannot draw",
            ))
        } else if let Some(refusal) = self.editing_refusal() {
            Err(refusal)
        } else {
            picture.map(|p| {
                self.commit(member, Op::Image(p), OpKind::Image, None, client_id, now);
            })
        };
        if let Err(e) = &result {
            self.metrics.error_sent(e.code);
            self.log.push(
                &ServerMsg::Error {
                    code: e.code,
                    message: Cow::Borrowed(&e.message),
                    seq: None,
                    stroke: None,
                    id: client_id,
                },
                Audience::Only(member),
            );
        }
        result
    }
}
