//! Durations and byte sizes in a human form: `250ms`, `10s`, `5m`, `7d`; `65536`, `64KiB`, `8MiB`.
//!
//! Parsing accepts what an operator would type; formatting picks the largest unit that says the
//! value exactly, so `inkroom config` prints values that read back to the same thing.

use std::time::Duration;

/// Duration units, largest first: suffix and length in nanoseconds.
const TIME_UNITS: [(&str, u128); 7] = [
    ("d", 86_400_000_000_000),
    ("h", 3_600_000_000_000),
    ("m", 60_000_000_000),
    ("s", 1_000_000_000),
    ("ms", 1_000_000),
    ("us", 1_000),
    ("ns", 1),
];

/// Byte units, largest first: suffix and size.
const BYTE_UNITS: [(&str, u64); 5] = [
    ("TiB", 1 << 40),
    ("GiB", 1 << 30),
    ("MiB", 1 << 20),
    ("KiB", 1 << 10),
    ("B", 1),
];

/// Parses a duration: one or more terms of a whole number and a unit (`d`, `h`, `m`, `s`, `ms`,
/// `us`, `ns`), optionally separated by spaces, e.g. `250ms`, `1h30m`, `7d`. A lone `0` is zero.
/// `None` for anything else, including overflow.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    if text == "0" {
        return Some(Duration::ZERO);
    }
    let mut rest = text;
    let mut nanos: u128 = 0;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return None;
        }
        let number: u128 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        let (_, size) = TIME_UNITS.iter().find(|(name, _)| *name == unit)?;
        nanos = nanos.checked_add(number.checked_mul(*size)?)?;
        rest = rest[unit_len..].trim_start();
    }
    let secs = u64::try_from(nanos / 1_000_000_000).ok()?;
    let sub = u32::try_from(nanos % 1_000_000_000).ok()?;
    Some(Duration::new(secs, sub))
}

/// Formats a duration in the largest unit that says it exactly: `250ms`, `10s`, `5m`, `7d`
/// (`0s` for zero). [`parse_duration`] reads it back to the same value.
pub fn format_duration(d: Duration) -> String {
    let nanos = d.as_nanos();
    if nanos == 0 {
        return "0s".into();
    }
    let (unit, size) = TIME_UNITS
        .iter()
        .find(|(_, size)| nanos.is_multiple_of(*size))
        .copied()
        .unwrap_or(("ns", 1));
    format!("{}{unit}", nanos / size)
}

/// Parses a byte size: a whole number, optionally followed by a binary unit (`B`, `KiB`, `MiB`,
/// `GiB`, `TiB`), with or without a space: `65536`, `64KiB`, `8 MiB`. `None` for anything else,
/// including overflow.
pub fn parse_bytes(text: &str) -> Option<u64> {
    let text = text.trim();
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    if digits == 0 {
        return None;
    }
    let number: u64 = text[..digits].parse().ok()?;
    let unit = text[digits..].trim_start();
    if unit.is_empty() {
        return Some(number);
    }
    let (_, size) = BYTE_UNITS.iter().find(|(name, _)| *name == unit)?;
    number.checked_mul(*size)
}

/// Formats a byte size in the largest binary unit that says it exactly (`64KiB`, `8MiB`), or as
/// a plain number below 1 KiB or when no unit fits. [`parse_bytes`] reads it back.
pub fn format_bytes(bytes: u64) -> String {
    BYTE_UNITS
        .iter()
        .find(|(_, size)| *size > 1 && bytes >= *size && bytes.is_multiple_of(*size))
        .map_or_else(
            || bytes.to_string(),
            |(unit, size)| format!("{}{unit}", bytes / size),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_in_every_unit() {
        let ms = Duration::from_millis;
        let s = Duration::from_secs;
        assert_eq!(parse_duration("250ms"), Some(ms(250)));
        assert_eq!(parse_duration("10s"), Some(s(10)));
        assert_eq!(parse_duration("5m"), Some(s(300)));
        assert_eq!(parse_duration("2h"), Some(s(7200)));
        assert_eq!(parse_duration("7d"), Some(s(7 * 86_400)));
        assert_eq!(parse_duration("15us"), Some(Duration::from_micros(15)));
        assert_eq!(parse_duration("3ns"), Some(Duration::from_nanos(3)));
        assert_eq!(parse_duration("0"), Some(Duration::ZERO));
        assert_eq!(parse_duration(" 0ms "), Some(Duration::ZERO));
    }

    #[test]
    fn durations_add_up_their_terms() {
        assert_eq!(parse_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(
            parse_duration("1m 2s 3ms"),
            Some(Duration::from_millis(62_003))
        );
    }

    #[test]
    fn durations_without_a_known_unit_are_refused() {
        for bad in [
            "", "10", "abc", "10x", "s", "1.5s", "-1s", "10 s", "1h30", "10sec", "ms10", "5M",
        ] {
            assert_eq!(parse_duration(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn durations_that_overflow_are_refused() {
        assert_eq!(
            parse_duration("99999999999999999999999999999999999999d"),
            None
        );
        assert_eq!(parse_duration("300000000000000000d"), None);
    }

    #[test]
    fn durations_format_in_the_largest_exact_unit() {
        assert_eq!(format_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(format_duration(Duration::from_millis(2000)), "2s");
        assert_eq!(format_duration(Duration::from_secs(60)), "1m");
        assert_eq!(format_duration(Duration::from_secs(90)), "90s");
        assert_eq!(format_duration(Duration::from_secs(7 * 86_400)), "7d");
        assert_eq!(format_duration(Duration::from_micros(1500)), "1500us");
        assert_eq!(format_duration(Duration::from_nanos(7)), "7ns");
        assert_eq!(format_duration(Duration::ZERO), "0s");
    }

    #[test]
    fn formatted_durations_read_back() {
        for nanos in [
            1,
            999,
            1_000,
            33_000_000,
            1_000_000_000,
            61_000_000_000,
            u64::MAX,
        ] {
            let d = Duration::from_nanos(nanos);
            assert_eq!(parse_duration(&format_duration(d)), Some(d), "{nanos}");
        }
        let longest = Duration::new(u64::MAX, 999_999_999);
        assert_eq!(parse_duration(&format_duration(longest)), Some(longest));
    }

    #[test]
    fn byte_sizes_parse_plain_and_with_units() {
        assert_eq!(parse_bytes("65536"), Some(65_536));
        assert_eq!(parse_bytes("64KiB"), Some(65_536));
        assert_eq!(parse_bytes("8 MiB"), Some(8 << 20));
        assert_eq!(parse_bytes("2GiB"), Some(2 << 30));
        assert_eq!(parse_bytes("1TiB"), Some(1 << 40));
        assert_eq!(parse_bytes("12B"), Some(12));
        assert_eq!(parse_bytes("0"), Some(0));
    }

    #[test]
    fn byte_sizes_with_unknown_units_or_overflow_are_refused() {
        for bad in [
            "",
            "abc",
            "64K",
            "64kib",
            "64KB",
            "1.5MiB",
            "-1",
            "MiB",
            "18446744073709551616",
            "16777216TiB",
        ] {
            assert_eq!(parse_bytes(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn byte_sizes_format_in_the_largest_exact_unit() {
        assert_eq!(format_bytes(65_536), "64KiB");
        assert_eq!(format_bytes(8 << 20), "8MiB");
        assert_eq!(format_bytes(1536), "1536");
        assert_eq!(format_bytes(1000), "1000");
        assert_eq!(format_bytes(0), "0");
        for n in [0, 1, 1024, 1536, 3 << 30, u64::MAX] {
            assert_eq!(parse_bytes(&format_bytes(n)), Some(n));
        }
    }
}
