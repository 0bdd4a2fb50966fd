//! A connection's log lines: one when it joins its room, one when it ends, with the room, the
//! member, the role, how long it lasted and why it ended. Never the key.

use std::time::Instant;

use super::writer::Stopped;
use super::End;
use crate::meta::RoomMeta;
use crate::protocol::{MemberId, Role};

impl End {
    /// Why the connection ended, in a few words.
    fn reason(&self) -> String {
        match self {
            End::ClientGone => "client left".into(),
            End::Close(code, reason, _) => format!("{code} {reason}"),
            End::Writer(Stopped::Failed) => "write failed or timed out".into(),
            End::Writer(Stopped::Dropped(_)) => "dropped by the room".into(),
            End::Writer(Stopped::Closed) => "closed".into(),
        }
    }
}

/// A role as the log shows it.
pub(super) fn role_name(role: Role) -> &'static str {
    match role {
        Role::Editor => "editor",
        Role::Viewer => "viewer",
        Role::Owner => "owner",
    }
}

/// The connection's one closing line: `member` and `role` as far as it got (none when it never
/// said a valid hello or never joined).
pub(super) fn log_closed(
    meta: &RoomMeta,
    member: Option<MemberId>,
    role: Option<Role>,
    opened: Instant,
    end: &End,
) {
    tracing::info!(
        room = %meta.id,
        member,
        role = role.map_or("none", role_name),
        duration_ms = u64::try_from(opened.elapsed().as_millis()).unwrap_or(u64::MAX),
        reason = %end.reason(),
        "connection closed"
    );
}
