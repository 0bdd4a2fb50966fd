//! How the fan-out generator's messages carry their identity, and how viewers find it again in
//! what they receive, cheaply and without a JSON parser: the stroke id names the editor
//! (`editor * STROKE_BASE + stroke number`) and the first point of each message, `(c % 1000,
//! c / 1000)`, its counter `c`. A relay forwards our bytes; inkroom re-serializes them (adding
//! `author`, printing `12.0` for `12`), may merge messages or wrap them in batch frames: the scan
//! below reads all of these.

use std::fmt::Write as _;

/// Stroke ids are `editor * STROKE_BASE + stroke number`.
pub const STROKE_BASE: u64 = 1_000_000;

/// Calls `f(stroke id, points array contents)` for every flat JSON object in `text` whose type is
/// `stroke_points` or `stroke_begin`. These objects hold no nested objects and no braces in
/// strings, so the object around the type is the nearest `{` before it and `}` after it.
pub fn for_each_stroke_message(text: &str, mut f: impl FnMut(u64, &str)) {
    let mut from = 0;
    while let Some(i) = text[from..].find("\"stroke_") {
        let at = from + i;
        let rest = &text[at + 8..];
        if !rest.starts_with("points\"") && !rest.starts_with("begin\"") {
            from = at + 8;
            continue;
        }
        let start = text[..at].rfind('{').unwrap_or(0);
        let end = text[at..].find('}').map_or(text.len(), |j| at + j);
        let object = &text[start..end];
        if let (Some(stroke), Some(points)) =
            (field(object, "\"stroke\""), field(object, "\"points\""))
        {
            if let Ok(stroke) = stroke
                .trim_end_matches(|c: char| !c.is_ascii_digit())
                .parse()
            {
                let points = points.strip_prefix('[').unwrap_or(points);
                f(stroke, &points[..points.find(']').unwrap_or(points.len())]);
            }
        }
        from = end.max(at + 8);
    }
}

/// The raw text after `quoted_key:` in a flat object (`quoted_key` is the key with its quotes), up
/// to the next comma unless it is an array.
fn field<'a>(object: &'a str, quoted_key: &str) -> Option<&'a str> {
    let after = &object[object.find(quoted_key)? + quoted_key.len()..];
    let value = after.trim_start().strip_prefix(':')?.trim_start();
    Some(if value.starts_with('[') {
        value
    } else {
        &value[..value.find(',').unwrap_or(value.len())]
    })
}

/// The message counters encoded in a points array: the first point of every run of `per_message`
/// points is `(c % 1000, c / 1000)`.
pub fn message_counters(points: &str, per_message: usize) -> impl Iterator<Item = u64> + '_ {
    let stride = 3 * per_message;
    let mut values = points.split(',').map(str::trim).filter(|v| !v.is_empty());
    let mut index = 0usize;
    std::iter::from_fn(move || loop {
        let x = values.next()?;
        let at = index;
        index += 1;
        if !at.is_multiple_of(stride) {
            continue;
        }
        let y = values.next()?;
        index += 1;
        let (Ok(x), Ok(y)) = (x.parse::<f64>(), y.parse::<f64>()) else {
            continue;
        };
        if x >= 0.0 && y >= 0.0 {
            return Some(x.round() as u64 + 1000 * y.round() as u64);
        }
    })
}

/// The `stroke_points` message carrying counter `c` of a stroke: its first point encodes `c`, the
/// others follow 1 px apart so the stroke stays short.
pub fn points_message(stroke: u64, c: u64, points: usize) -> String {
    let (x, y) = ((c % 1000) as f32, (c / 1000) as f32);
    let mut msg = String::with_capacity(48 + points * 12);
    let _ = write!(
        msg,
        "{{\"type\":\"stroke_points\",\"stroke\":{stroke},\"points\":["
    );
    for i in 0..points {
        let sep = if i == 0 { "" } else { "," };
        let _ = write!(msg, "{sep}{},{y},0.5", x + i as f32);
    }
    msg.push_str("]}");
    msg
}
