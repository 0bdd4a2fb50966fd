//! How each kind of setting is read from text and written back as TOML.
//!
//! Every source (flag, environment variable, TOML file) hands a setting over as text, or a list
//! of texts for list settings; a [`Codec`] turns it into the field's type or says what it
//! expected. Writing is the reverse, as a TOML literal that reads back to the same value.

use std::marker::PhantomData;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::units::{format_bytes, format_duration, parse_bytes, parse_duration};

/// Reads and writes one kind of setting.
pub(crate) trait Codec {
    /// The field's type.
    type Value;
    /// What a valid value looks like, after "expected" in errors and in the docs.
    const EXPECTED: &'static str;
    /// The placeholder for the value in `--help`.
    const PLACEHOLDER: &'static str;
    /// Whether the setting is a list (a repeatable flag, a comma list in the environment, an
    /// array in TOML).
    const LIST: bool = false;

    /// Reads one value. `None` when it is not valid.
    fn parse(text: &str) -> Option<Self::Value>;

    /// Reads a setting from its texts (exactly one unless [`Codec::LIST`]); on failure returns
    /// the text at fault.
    fn parse_all(items: &[String]) -> Result<Self::Value, String> {
        match items {
            [one] => Self::parse(one).ok_or_else(|| one.clone()),
            _ => Err(items.join(",")),
        }
    }

    /// The value as a TOML literal, or `None` when the setting is unset.
    fn show(value: &Self::Value) -> Option<String>;
}

/// A TOML string literal (quoted and escaped).
pub(crate) fn quote(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}

/// A whole number, zero allowed.
pub(crate) struct Count<T>(PhantomData<T>);
/// A whole number greater than zero.
pub(crate) struct Positive<T>(PhantomData<T>);
/// A number of bytes greater than zero: `65536`, `64KiB`.
pub(crate) struct Bytes<T>(PhantomData<T>);
/// A finite number greater than zero (rates, widths).
pub(crate) struct Number<T>(PhantomData<T>);

/// An integer as a TOML literal: bare when TOML's 64-bit signed integers hold it, else quoted.
fn show_integer(n: u64) -> String {
    if i64::try_from(n).is_ok() {
        n.to_string()
    } else {
        quote(&n.to_string())
    }
}

macro_rules! integer_codecs {
    ($($t:ty),*) => {$(
        impl Codec for Count<$t> {
            type Value = $t;
            const EXPECTED: &'static str = "a whole number";
            const PLACEHOLDER: &'static str = "N";
            fn parse(text: &str) -> Option<$t> {
                text.trim().parse().ok()
            }
            fn show(value: &$t) -> Option<String> {
                u64::try_from(*value).ok().map(show_integer)
            }
        }

        impl Codec for Positive<$t> {
            type Value = $t;
            const EXPECTED: &'static str = "a whole number greater than zero";
            const PLACEHOLDER: &'static str = "N";
            fn parse(text: &str) -> Option<$t> {
                Count::<$t>::parse(text).filter(|n| *n > 0)
            }
            fn show(value: &$t) -> Option<String> {
                Count::<$t>::show(value)
            }
        }

        impl Codec for Bytes<$t> {
            type Value = $t;
            const EXPECTED: &'static str =
                "a number of bytes greater than zero, like 65536 or 64KiB";
            const PLACEHOLDER: &'static str = "BYTES";
            fn parse(text: &str) -> Option<$t> {
                parse_bytes(text)
                    .filter(|n| *n > 0)
                    .and_then(|n| <$t>::try_from(n).ok())
            }
            fn show(value: &$t) -> Option<String> {
                let n = u64::try_from(*value).ok()?;
                let text = format_bytes(n);
                Some(if text.bytes().all(|b| b.is_ascii_digit()) {
                    show_integer(n)
                } else {
                    quote(&text)
                })
            }
        }
    )*};
}

integer_codecs!(u32, u64, usize);

macro_rules! float_codecs {
    ($($t:ty),*) => {$(
        impl Codec for Number<$t> {
            type Value = $t;
            const EXPECTED: &'static str = "a number greater than zero";
            const PLACEHOLDER: &'static str = "NUMBER";
            fn parse(text: &str) -> Option<$t> {
                text.trim()
                    .parse::<$t>()
                    .ok()
                    .filter(|n| n.is_finite() && *n > 0.0)
            }
            fn show(value: &$t) -> Option<String> {
                // Debug keeps the decimal point (`300.0`), so TOML reads a float back.
                Some(format!("{value:?}"))
            }
        }
    )*};
}

float_codecs!(f32, f64);

/// A duration greater than zero: `250ms`, `10s`, `5m`, `7d`.
pub(crate) struct Span;

impl Codec for Span {
    type Value = Duration;
    const EXPECTED: &'static str = "a duration greater than zero, like 250ms, 10s, 5m or 7d";
    const PLACEHOLDER: &'static str = "DURATION";
    fn parse(text: &str) -> Option<Duration> {
        parse_duration(text).filter(|d| !d.is_zero())
    }
    fn show(value: &Duration) -> Option<String> {
        Some(quote(&format_duration(*value)))
    }
}

/// `true` or `false` (also `1`/`0`, `yes`/`no`, `on`/`off`, any case).
pub(crate) struct Flag;

impl Codec for Flag {
    type Value = bool;
    const EXPECTED: &'static str = "true or false";
    const PLACEHOLDER: &'static str = "BOOL";
    fn parse(text: &str) -> Option<bool> {
        match text.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Some(true),
            "false" | "0" | "no" | "off" => Some(false),
            _ => None,
        }
    }
    fn show(value: &bool) -> Option<String> {
        Some(value.to_string())
    }
}

/// A socket address: `127.0.0.1:8080`, `[::]:443`.
pub(crate) struct Addr;

impl Codec for Addr {
    type Value = SocketAddr;
    const EXPECTED: &'static str = "an address and port, like 127.0.0.1:8080 or [::]:8080";
    const PLACEHOLDER: &'static str = "ADDR";
    fn parse(text: &str) -> Option<SocketAddr> {
        text.trim().parse().ok()
    }
    fn show(value: &SocketAddr) -> Option<String> {
        Some(quote(&value.to_string()))
    }
}

/// A file or directory path, not empty.
pub(crate) struct Path;

impl Codec for Path {
    type Value = PathBuf;
    const EXPECTED: &'static str = "a path";
    const PLACEHOLDER: &'static str = "PATH";
    fn parse(text: &str) -> Option<PathBuf> {
        (!text.is_empty()).then(|| PathBuf::from(text))
    }
    fn show(value: &PathBuf) -> Option<String> {
        Some(quote(&value.to_string_lossy()))
    }
}

/// Text, not empty.
pub(crate) struct Text;

impl Codec for Text {
    type Value = String;
    const EXPECTED: &'static str = "some text";
    const PLACEHOLDER: &'static str = "TEXT";
    fn parse(text: &str) -> Option<String> {
        (!text.is_empty()).then(|| text.to_owned())
    }
    fn show(value: &String) -> Option<String> {
        Some(quote(value))
    }
}

/// An optional setting: the empty text unsets it (to override a file from the environment).
pub(crate) struct Opt<C>(PhantomData<C>);

impl<C: Codec> Codec for Opt<C> {
    type Value = Option<C::Value>;
    const EXPECTED: &'static str = C::EXPECTED;
    const PLACEHOLDER: &'static str = C::PLACEHOLDER;
    fn parse(text: &str) -> Option<Option<C::Value>> {
        if text.is_empty() {
            Some(None)
        } else {
            C::parse(text).map(Some)
        }
    }
    fn show(value: &Option<C::Value>) -> Option<String> {
        value.as_ref().and_then(C::show)
    }
}

/// A list of web origins (`scheme://host[:port]`, http or https, no path), as the browser sends
/// them in the `Origin` header. Texts are split at commas; blanks are skipped.
pub(crate) struct Origins;

impl Origins {
    /// Whether `text` is an origin that can ever equal a browser's `Origin` header.
    fn is_origin(text: &str) -> bool {
        let Some((scheme, host)) = text.split_once("://") else {
            return false;
        };
        let scheme_ok = scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https");
        scheme_ok && !host.is_empty() && !host.contains(['/', '?', '#', ' ', '*', '@'])
    }
}

impl Codec for Origins {
    type Value = Vec<String>;
    const EXPECTED: &'static str =
        "origins like https://example.com or http://localhost:3000 (scheme://host[:port], no path)";
    const PLACEHOLDER: &'static str = "ORIGIN";
    const LIST: bool = true;
    fn parse(text: &str) -> Option<Vec<String>> {
        Self::parse_all(&[text.to_owned()]).ok()
    }
    fn parse_all(items: &[String]) -> Result<Vec<String>, String> {
        let mut origins = Vec::new();
        for item in items.iter().flat_map(|i| i.split(',')) {
            let item = item.trim();
            if item.is_empty() {
                continue;
            }
            if !Self::is_origin(item) {
                return Err(item.to_owned());
            }
            origins.push(item.to_owned());
        }
        Ok(origins)
    }
    fn show(value: &Vec<String>) -> Option<String> {
        let items: Vec<String> = value.iter().map(|o| quote(o)).collect();
        Some(format!("[{}]", items.join(", ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_that_must_not_be_zero_refuse_zero() {
        assert_eq!(Positive::<usize>::parse("0"), None);
        assert_eq!(Positive::<usize>::parse("3"), Some(3));
        assert_eq!(Count::<usize>::parse("0"), Some(0));
        assert_eq!(Bytes::<usize>::parse("0"), None);
        assert_eq!(Span::parse("0s"), None);
        assert_eq!(Number::<f64>::parse("0"), None);
    }

    #[test]
    fn numbers_refuse_nan_infinity_and_negatives() {
        for bad in ["NaN", "inf", "-1", "abc", ""] {
            assert_eq!(Number::<f64>::parse(bad), None, "{bad:?}");
        }
        assert_eq!(Number::<f64>::parse("2.5"), Some(2.5));
        assert_eq!(Number::<f32>::show(&256.0), Some("256.0".into()));
    }

    #[test]
    fn integers_out_of_range_are_refused() {
        assert_eq!(Count::<u32>::parse("4294967296"), None);
        assert_eq!(Count::<u32>::parse("-1"), None);
        assert_eq!(
            Count::<u64>::show(&u64::MAX),
            Some("\"18446744073709551615\"".into())
        );
    }

    #[test]
    fn byte_sizes_show_as_units_or_plain_integers() {
        assert_eq!(Bytes::<usize>::show(&65_536), Some("\"64KiB\"".into()));
        assert_eq!(Bytes::<usize>::show(&1000), Some("1000".into()));
        assert_eq!(Bytes::<u64>::parse("8MiB"), Some(8 << 20));
    }

    #[test]
    fn optional_settings_unset_with_the_empty_text() {
        assert_eq!(Opt::<Span>::parse(""), Some(None));
        assert_eq!(
            Opt::<Span>::parse("7d"),
            Some(Some(Duration::from_secs(604_800)))
        );
        assert_eq!(Opt::<Span>::parse("7"), None);
        assert_eq!(Opt::<Text>::show(&None), None);
    }

    #[test]
    fn flags_read_common_spellings() {
        assert_eq!(Flag::parse("TRUE"), Some(true));
        assert_eq!(Flag::parse("off"), Some(false));
        assert_eq!(Flag::parse("maybe"), None);
    }

    #[test]
    fn origins_split_at_commas_and_refuse_paths() {
        let list = |items: &[&str]| {
            Origins::parse_all(&items.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        };
        assert_eq!(
            list(&[
                "https://a.example, http://b.example:3000",
                "https://c.example"
            ]),
            Ok(vec![
                "https://a.example".into(),
                "http://b.example:3000".into(),
                "https://c.example".into()
            ])
        );
        assert_eq!(list(&[""]), Ok(vec![]));
        assert_eq!(
            list(&["https://a.example/"]),
            Err("https://a.example/".into())
        );
        assert_eq!(list(&["a.example"]), Err("a.example".into()));
        assert_eq!(list(&["ftp://a.example"]), Err("ftp://a.example".into()));
        assert_eq!(
            Origins::show(&vec!["https://a.example".into()]),
            Some("[\"https://a.example\"]".into())
        );
    }
}
