//! Shape previews: the line, rectangle or ellipse an editor is dragging, relayed to the others
//! once a tick (the latest position only, like cursors) and never stored. A member has at most
//! one preview; a new one replaces it. It ends with the author's commit of the shape (whose
//! `commit` tells everyone), with a cancel, or when the shape is refused (a cancel is relayed).

use super::{Audience, RoomState};
use crate::protocol::{MemberId, PreviewShape, ServerMsg};

/// One member's preview as the room holds it.
#[derive(Debug)]
pub(super) struct Preview {
    /// The author's id for the shape.
    id: u32,
    /// The latest shape, or `None` once cancelled (the cancel is relayed, then the entry goes).
    shape: Option<PreviewShape>,
    /// Not relayed yet.
    changed: bool,
    /// Others were shown this member's preview: ending it without a commit needs a cancel.
    shown: bool,
}

impl RoomState {
    /// A member's drag moved (`Some`) or was abandoned (`None`).
    pub(super) fn set_preview(&mut self, author: MemberId, id: u32, shape: Option<PreviewShape>) {
        let shown = self.previews.get(&author).is_some_and(|p| p.shown);
        match shape {
            Some(shape) => {
                self.previews.insert(
                    author,
                    Preview {
                        id,
                        shape: Some(shape),
                        changed: true,
                        shown,
                    },
                );
            }
            None => {
                if self.previews.get(&author).is_some_and(|p| p.id == id) {
                    self.end_preview(author, false);
                }
            }
        }
    }

    /// A member's preview ends: its shape was committed (`committed`: the commit tells
    /// everyone), or it never will be (others are told with a cancel if they saw it).
    pub(super) fn end_preview(&mut self, author: MemberId, committed: bool) {
        match self.previews.get_mut(&author) {
            Some(p) if p.shown && !committed => {
                p.shape = None;
                p.changed = true;
            }
            Some(_) => {
                self.previews.remove(&author);
            }
            None => {}
        }
    }

    /// Relays the previews that changed since the last tick, each to everyone but its author.
    pub(super) fn queue_previews(&mut self) {
        let mut ended = Vec::new();
        for (&author, p) in self.previews.iter_mut().filter(|(_, p)| p.changed) {
            p.changed = false;
            let msg = match &p.shape {
                Some(s) => {
                    p.shown = true;
                    ServerMsg::ShapePreview {
                        author,
                        id: p.id,
                        shape: Some(s.kind),
                        x0: Some(s.x0),
                        y0: Some(s.y0),
                        x1: Some(s.x1),
                        y1: Some(s.y1),
                        color: Some(s.color.as_str().into()),
                        width: Some(s.width),
                        fill: Some(s.fill),
                        cancel: false,
                    }
                }
                None => {
                    ended.push(author);
                    ServerMsg::ShapePreview {
                        author,
                        id: p.id,
                        shape: None,
                        x0: None,
                        y0: None,
                        x1: None,
                        y1: None,
                        color: None,
                        width: None,
                        fill: None,
                        cancel: true,
                    }
                }
            };
            self.log.push(&msg, Audience::Except(author));
        }
        for author in ended {
            self.previews.remove(&author);
        }
    }
}
