//! Binary frames sent by the server. Every binary frame starts with a 16-byte header.
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 1 | kind: 1 = tile |
//! | 1 | 1 | flags: bit 0 = tile is empty (no PNG follows) |
//! | 2 | 2 | tile column, big-endian |
//! | 4 | 2 | tile row, big-endian |
//! | 6 | 2 | tile size in pixels (256), big-endian |
//! | 8 | 8 | seq the tile reflects, big-endian |
//! | 16 | .. | PNG image of the tile (straight alpha, clipped at the canvas edge) |

/// Frame kind of a tile.
pub const KIND_TILE: u8 = 1;
/// Flag: the tile is empty (fully transparent); no PNG follows.
pub const FLAG_EMPTY: u8 = 1;
/// Length of the header before the payload.
pub const HEADER_LEN: usize = 16;

/// Builds a tile frame.
pub fn tile(col: u16, row: u16, tile_size: u16, seq: u64, png: Option<&[u8]>) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + png.map_or(0, <[u8]>::len));
    out.push(KIND_TILE);
    out.push(if png.is_none() { FLAG_EMPTY } else { 0 });
    out.extend_from_slice(&col.to_be_bytes());
    out.extend_from_slice(&row.to_be_bytes());
    out.extend_from_slice(&tile_size.to_be_bytes());
    out.extend_from_slice(&seq.to_be_bytes());
    if let Some(png) = png {
        out.extend_from_slice(png);
    }
    out
}
