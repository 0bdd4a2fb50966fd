//! Room metadata: what a room is (id, name, size, background) and its edit key, fixed at
//! creation. Below both the store and the rooms, so neither depends on the other for it.

use serde::Deserialize;
use uuid::Uuid;

use crate::canvas::Rgba;
use crate::config::Config;
use crate::protocol::{ErrorCode, ProtoError, RoomView};

/// What a room is, fixed at creation.
#[derive(Debug, Clone)]
pub struct RoomMeta {
    /// Room id, UUID v4.
    pub id: Uuid,
    /// Display name.
    pub name: String,
    /// Canvas width.
    pub width: u32,
    /// Canvas height.
    pub height: u32,
    /// Opaque background color.
    pub background: Rgba,
    /// Secret that makes a member an editor; 128 random bits as 32 hex digits. Never logged.
    pub edit_key: String,
    /// Secret that makes a member the room's owner (moderation, see `docs/protocol.md`); same
    /// form as the edit key. `None` for rooms created before owners existed. Never logged,
    /// never in `GET /api/rooms/{id}`.
    pub owner_key: Option<String>,
}

impl RoomMeta {
    /// The public view of the room (no key).
    pub fn view(&self) -> RoomView {
        RoomView {
            id: self.id.to_string(),
            name: self.name.clone(),
            width: self.width,
            height: self.height,
            background: self.background.to_hex(),
        }
    }

    /// Whether `key` is the edit key, compared in constant time.
    pub fn is_edit_key(&self, key: &str) -> bool {
        constant_time_eq(key.as_bytes(), self.edit_key.as_bytes())
    }

    /// Whether `key` is the owner key, compared in constant time (false when there is none).
    pub fn is_owner_key(&self, key: &str) -> bool {
        self.owner_key
            .as_ref()
            .is_some_and(|owner| constant_time_eq(key.as_bytes(), owner.as_bytes()))
    }

    /// The same room with a fresh edit key (the owner replaced it).
    pub fn with_new_edit_key(&self) -> RoomMeta {
        RoomMeta {
            edit_key: new_key(),
            ..self.clone()
        }
    }
}

/// Compares two byte strings in time that depends only on their lengths.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The body of `POST /api/rooms`; every field is optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewRoom {
    /// Room name; default "Untitled board".
    #[serde(default)]
    pub name: Option<String>,
    /// Canvas width; default [`Config::default_width`].
    #[serde(default)]
    pub width: Option<u32>,
    /// Canvas height; default [`Config::default_height`].
    #[serde(default)]
    pub height: Option<u32>,
    /// Background `#rrggbb`; default white.
    #[serde(default)]
    pub background: Option<String>,
}

/// Checks a room request (`POST /api/rooms`) and builds the room's facts with a fresh id and key.
pub fn validate(req: NewRoom, c: &Config) -> Result<RoomMeta, ProtoError> {
    let bad = |m: String| ProtoError::new(ErrorCode::BadRequest, m);
    let name = req.name.as_deref().unwrap_or("").trim();
    let name = if name.is_empty() {
        "Untitled board".to_owned()
    } else {
        name.to_owned()
    };
    if name.chars().count() > c.max_room_name_chars || name.chars().any(char::is_control) {
        return Err(bad(format!(
            "name must be at most {} characters, without control characters",
            c.max_room_name_chars
        )));
    }
    let width = req.width.unwrap_or(c.default_width);
    let height = req.height.unwrap_or(c.default_height);
    let max = c.max_canvas_side;
    if !(1..=max).contains(&width) || !(1..=max).contains(&height) {
        return Err(bad(format!(
            "width and height must be between 1 and {max} pixels"
        )));
    }
    let background = match req.background.as_deref() {
        None => Rgba {
            r: 255,
            g: 255,
            b: 255,
            a: 255,
        },
        Some(text) => parse_background(text)
            .ok_or_else(|| bad("background must be a color like #ffffff".to_owned()))?,
    };
    Ok(RoomMeta {
        id: Uuid::new_v4(),
        name,
        width,
        height,
        background,
        edit_key: new_key(),
        owner_key: Some(new_key()),
    })
}

/// 128 random bits from the OS, as 32 lowercase hex digits.
fn new_key() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the OS random source is available");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Parses an opaque `#rrggbb` color (room backgrounds).
pub fn parse_background(text: &str) -> Option<Rgba> {
    if text.len() != 7 {
        return None;
    }
    Rgba::from_hex(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_long_and_distinct() {
        let (a, b) = (new_key(), new_key());
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
    }

    #[test]
    fn constant_time_compare() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }

    #[test]
    fn create_validates() {
        let c = Config::default();
        let m = validate(NewRoom::default(), &c).expect("defaults are valid");
        assert_eq!(
            (m.width, m.height, m.name.as_str()),
            (1920, 1080, "Untitled board")
        );
        for bad in [
            NewRoom {
                width: Some(0),
                ..NewRoom::default()
            },
            NewRoom {
                height: Some(9000),
                ..NewRoom::default()
            },
            NewRoom {
                background: Some("red".into()),
                ..NewRoom::default()
            },
        ] {
            assert_eq!(
                validate(bad, &c).map(|_| ()).map_err(|e| e.code),
                Err(ErrorCode::BadRequest)
            );
        }
    }
}
