//! Merges the sources of settings into one [`Config`]: flags over `INKROOM_*` environment
//! variables over a TOML file (`--config FILE` or `INKROOM_CONFIG`) over the defaults.
//!
//! Every value is checked where it is read, so an error names the setting, the value and where
//! it came from; `check` then checks the settings against each other.

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

use super::check::check;
use super::fields::{field, Field, FIELDS};
use super::{Config, TlsFiles};

/// The environment variable naming the TOML file, when `--config` is not given.
pub const CONFIG_ENV: &str = "INKROOM_CONFIG";

/// A configuration under construction: the settings read so far, with the TLS files apart until
/// both are known.
pub(crate) struct Draft {
    /// Every setting but the TLS files.
    pub(crate) config: Config,
    /// `tls_cert` as read so far.
    pub(crate) tls_cert: Option<PathBuf>,
    /// `tls_key` as read so far.
    pub(crate) tls_key: Option<PathBuf>,
}

impl Draft {
    /// The defaults.
    pub(crate) fn new() -> Draft {
        Draft {
            config: Config::default(),
            tls_cert: None,
            tls_key: None,
        }
    }

    /// Pairs the TLS files and checks the settings against each other.
    fn finish(self) -> Result<Config, ConfigError> {
        let Draft {
            mut config,
            tls_cert,
            tls_key,
        } = self;
        config.tls = match (tls_cert, tls_key) {
            (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
            (None, None) => None,
            (Some(_), None) => return Err(ConfigError::Conflict(
                "tls_cert is set but tls_key is not: https needs both (--tls-key, INKROOM_TLS_KEY or tls_key)".into(),
            )),
            (None, Some(_)) => return Err(ConfigError::Conflict(
                "tls_key is set but tls_cert is not: https needs both (--tls-cert, INKROOM_TLS_CERT or tls_cert)".into(),
            )),
        };
        check(&config)?;
        Ok(config)
    }
}

/// Why the configuration cannot be used. The message names the setting, the value and its
/// source.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A value that does not parse or is out of range.
    #[error("invalid {name} {value:?} (from {origin}): expected {expected}")]
    Invalid {
        /// The setting's TOML key.
        name: &'static str,
        /// The text at fault (masked for secrets).
        value: String,
        /// Where it came from: `--flag`, `INKROOM_VARIABLE` or the file's path.
        origin: String,
        /// What a valid value looks like.
        expected: &'static str,
    },
    /// A key in the TOML file (or a flag given through [`Flags`]) that is no setting.
    #[error("unknown setting {key:?} in {origin}; `inkroom --help` lists every setting")]
    UnknownKey {
        /// The key.
        key: String,
        /// The file's path, or "the flags".
        origin: String,
    },
    /// The TOML file cannot be read or is not TOML.
    #[error("cannot read the config file {file}: {error}")]
    File {
        /// The file's path.
        file: String,
        /// What went wrong.
        error: String,
    },
    /// An environment variable that is not UTF-8.
    #[error("{0} is not valid UTF-8")]
    NotUnicode(String),
    /// Settings that are fine alone but not together.
    #[error("{0}")]
    Conflict(String),
}

/// The flags given on the command line, besides the defaults, environment and file. Its
/// `Debug` masks secrets.
#[derive(Clone, Default)]
pub struct Flags {
    /// `--config FILE`.
    pub file: Option<PathBuf>,
    /// Each setting given as a flag, by TOML key, with its values in order (several only for
    /// lists).
    pub values: Vec<(&'static str, Vec<String>)>,
}

impl fmt::Debug for Flags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let values: Vec<(&str, Vec<&str>)> = self
            .values
            .iter()
            .map(|(name, values)| {
                let secret = field(name).is_some_and(|f| f.secret);
                let shown = values
                    .iter()
                    .map(|v| if secret { "********" } else { v.as_str() })
                    .collect();
                (*name, shown)
            })
            .collect();
        f.debug_struct("Flags")
            .field("file", &self.file)
            .field("values", &values)
            .finish()
    }
}

/// Builds the configuration from the defaults, the TOML file, the environment (read through
/// `env`, so tests can give their own) and `flags`, each overriding the one before.
pub fn load(flags: &Flags, env: &dyn Fn(&str) -> Option<OsString>) -> Result<Config, ConfigError> {
    let var = |name: &str| -> Result<Option<String>, ConfigError> {
        env(name)
            .map(|v| {
                v.into_string()
                    .map_err(|_| ConfigError::NotUnicode(name.to_owned()))
            })
            .transpose()
    };
    let mut draft = Draft::new();

    let file = match &flags.file {
        Some(file) => Some(file.clone()),
        None => var(CONFIG_ENV)?
            .filter(|f| !f.is_empty())
            .map(PathBuf::from),
    };
    if let Some(file) = file {
        apply_file(&mut draft, &file)?;
    }

    for f in FIELDS {
        let name = f.env();
        if let Some(value) = var(&name)? {
            apply(&mut draft, f, &[value], &name)?;
        }
    }

    for (name, values) in &flags.values {
        let f = field(name).ok_or_else(|| ConfigError::UnknownKey {
            key: (*name).to_owned(),
            origin: "the flags".into(),
        })?;
        apply(&mut draft, f, values, &format!("--{}", f.flag()))?;
    }
    draft.finish()
}

/// Reads one setting from a source into the draft.
fn apply(draft: &mut Draft, f: &Field, texts: &[String], origin: &str) -> Result<(), ConfigError> {
    f.set(draft, texts).map_err(|bad| invalid(f, bad, origin))
}

/// The error for a bad value of `f` from `origin`; a secret's value is masked.
fn invalid(f: &Field, bad: String, origin: &str) -> ConfigError {
    ConfigError::Invalid {
        name: f.name,
        value: if f.secret { "********".into() } else { bad },
        origin: origin.to_owned(),
        expected: f.expected,
    }
}

/// Reads the TOML file: a flat table of settings by key. Unknown keys are errors.
fn apply_file(draft: &mut Draft, file: &Path) -> Result<(), ConfigError> {
    let shown = file.display().to_string();
    let text = std::fs::read_to_string(file).map_err(|e| ConfigError::File {
        file: shown.clone(),
        error: e.to_string(),
    })?;
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| ConfigError::File {
            file: shown.clone(),
            error: e.to_string().trim_end().to_owned(),
        })?;
    for (key, value) in &table {
        let f = field(key).ok_or_else(|| ConfigError::UnknownKey {
            key: key.clone(),
            origin: shown.clone(),
        })?;
        let texts = texts(value, f.list).map_err(|bad| invalid(f, bad, &shown))?;
        apply(draft, f, &texts, &shown)?;
    }
    Ok(())
}

/// A TOML value as the texts a setting reads: scalars as one text, arrays of strings as one
/// text each (lists only). On failure returns the value as written.
fn texts(value: &toml::Value, list: bool) -> Result<Vec<String>, String> {
    match value {
        toml::Value::String(s) => Ok(vec![s.clone()]),
        toml::Value::Integer(i) => Ok(vec![i.to_string()]),
        toml::Value::Float(f) => Ok(vec![f.to_string()]),
        toml::Value::Boolean(b) => Ok(vec![b.to_string()]),
        toml::Value::Array(items) if list => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| value.to_string())
            })
            .collect(),
        other => Err(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::time::Duration;

    fn env_of(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
        let vars: HashMap<String, OsString> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), OsString::from(v)))
            .collect();
        move |name| vars.get(name).cloned()
    }

    fn flags(values: &[(&'static str, &str)]) -> Flags {
        Flags {
            file: None,
            values: values
                .iter()
                .map(|(k, v)| (*k, vec![v.to_string()]))
                .collect(),
        }
    }

    #[test]
    fn nothing_given_is_the_defaults() {
        let config = load(&Flags::default(), &env_of(&[])).expect("loads");
        assert_eq!(format!("{config:?}"), format!("{:?}", Config::default()));
    }

    #[test]
    fn a_flag_beats_the_environment() {
        let env = env_of(&[("INKROOM_TICK_MAX", "40ms"), ("INKROOM_UNDO_DEPTH", "7")]);
        let config = load(&flags(&[("tick_max", "30ms")]), &env).expect("loads");
        assert_eq!(config.tick_max, Duration::from_millis(30));
        assert_eq!(config.undo_depth, 7);
    }

    #[test]
    fn errors_name_the_setting_the_value_and_the_source() {
        let env = env_of(&[("INKROOM_MAX_FRAME_BYTES", "abc")]);
        let err = load(&Flags::default(), &env).expect_err("refused");
        assert_eq!(
            err.to_string(),
            "invalid max_frame_bytes \"abc\" (from INKROOM_MAX_FRAME_BYTES): expected a number \
             of bytes greater than zero, like 65536 or 64KiB"
        );
        let err = load(&flags(&[("tick_min", "soon")]), &env_of(&[])).expect_err("refused");
        assert!(err.to_string().contains("(from --tick-min)"), "{err}");
    }

    #[test]
    fn a_bad_secret_is_not_repeated() {
        let file = std::env::temp_dir().join(format!("inkroom-{}.toml", uuid::Uuid::new_v4()));
        std::fs::write(&file, "admin_token = [\"hunter2\"]\n").expect("write");
        let given = Flags {
            file: Some(file.clone()),
            values: Vec::new(),
        };
        let err = load(&given, &env_of(&[])).expect_err("refused").to_string();
        let _ = std::fs::remove_file(&file);
        assert!(err.starts_with("invalid admin_token \"********\""), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn unknown_keys_in_the_file_are_refused() {
        let file = std::env::temp_dir().join(format!("inkroom-{}.toml", uuid::Uuid::new_v4()));
        std::fs::write(&file, "tick_min = \"5ms\"\nmax_frame_byte = 10\n").expect("write");
        let given = Flags {
            file: Some(file.clone()),
            values: Vec::new(),
        };
        let err = load(&given, &env_of(&[])).expect_err("refused").to_string();
        let _ = std::fs::remove_file(&file);
        assert!(
            err.starts_with("unknown setting \"max_frame_byte\" in "),
            "{err}"
        );
    }

    #[test]
    fn flags_debug_masks_secrets() {
        let given = flags(&[("admin_token", "hunter2"), ("tick_min", "5ms")]);
        let shown = format!("{given:?}");
        assert!(
            !shown.contains("hunter2") && shown.contains("5ms"),
            "{shown}"
        );
    }

    #[test]
    fn the_empty_variable_unsets_an_optional_setting() {
        let env = env_of(&[("INKROOM_ADMIN_TOKEN", "")]);
        let config = load(&flags(&[]), &env).expect("loads");
        assert_eq!(config.admin_token, None);
    }

    #[test]
    fn tls_needs_both_files() {
        let err = load(&flags(&[("tls_cert", "c.pem")]), &env_of(&[])).expect_err("refused");
        assert!(err.to_string().contains("tls_key is not"), "{err}");
        let config = load(
            &flags(&[("tls_cert", "c.pem"), ("tls_key", "k.pem")]),
            &env_of(&[]),
        )
        .expect("loads");
        assert_eq!(
            config.tls,
            Some(TlsFiles {
                cert: "c.pem".into(),
                key: "k.pem".into()
            })
        );
    }

    #[test]
    fn a_variable_that_is_not_unicode_is_refused() {
        use std::os::unix::ffi::OsStringExt;
        let env =
            |name: &str| (name == "INKROOM_DATA_DIR").then(|| OsString::from_vec(vec![0x66, 0xff]));
        let err = load(&Flags::default(), &env).expect_err("refused");
        assert_eq!(err.to_string(), "INKROOM_DATA_DIR is not valid UTF-8");
    }

    /// Sets each setting in turn to a value unlike its default and checks that exactly that
    /// setting changed: every field's reader and writer point at the same `Config` field.
    #[test]
    fn each_setting_changes_exactly_its_own_field() {
        let before: Vec<Option<String>> =
            FIELDS.iter().map(|f| f.show(&Config::default())).collect();
        for (i, f) in FIELDS.iter().enumerate() {
            let value = match f.placeholder {
                "N" => "7",
                "BYTES" => "3KiB",
                "NUMBER" => "3.5",
                "DURATION" => "3s",
                "BOOL" if f.default_text() == "true" => "false",
                "BOOL" => "true",
                "ADDR" => "127.0.0.2:9",
                "PATH" => "/elsewhere",
                "TEXT" => "secret",
                "ORIGIN" => "https://other.example",
                other => panic!("no sample for {other}"),
            };
            let mut given = vec![(f.name, value)];
            // TLS needs both files.
            match f.name {
                "tls_cert" => given.push(("tls_key", "/k.pem")),
                "tls_key" => given.push(("tls_cert", "/c.pem")),
                _ => {}
            }
            // Set without the checks across settings, which a single change may fail.
            let mut draft = Draft::new();
            for (name, text) in &given {
                let g = field(name).expect("a field");
                g.set(&mut draft, &[text.to_string()])
                    .unwrap_or_else(|bad| panic!("{name}: {bad:?} refused"));
            }
            let mut config = draft.config;
            config.tls = draft
                .tls_cert
                .zip(draft.tls_key)
                .map(|(cert, key)| TlsFiles { cert, key });
            for (j, g) in FIELDS.iter().enumerate() {
                let changed = g.show(&config) != before[j];
                let expected = j == i || given.iter().any(|(name, _)| *name == g.name);
                assert_eq!(changed, expected, "setting {} changed {}", f.name, g.name);
            }
        }
    }
}
