//! The settings as command-line flags, made from [`FIELDS`]: one `--kebab-case` flag per
//! setting, grouped by section in `--help`, with the default and the environment variable.
//!
//! Values stay text here; [`load`](super::load) reads them, so a bad value gets the same message
//! from a flag as from the environment or the file.

use std::path::PathBuf;

use clap::{Arg, ArgAction, ArgMatches, Command};

use super::fields::FIELDS;
use super::load::{Flags, CONFIG_ENV};

/// The id of `--config`.
const CONFIG: &str = "config";

impl clap::Args for Flags {
    fn augment_args(cmd: Command) -> Command {
        let file = Arg::new(CONFIG)
            .long(CONFIG)
            .value_name("FILE")
            .value_parser(clap::value_parser!(PathBuf))
            .help(format!(
                "Read settings from this TOML file (keys as below); INKROOM_* variables and \
                 flags override it [env: {CONFIG_ENV}]"
            ));
        FIELDS.iter().fold(cmd.arg(file), |cmd, f| {
            let arg = Arg::new(f.name)
                .long(f.flag())
                .value_name(f.placeholder)
                .help_heading(f.section.title())
                .help(format!(
                    "{} [default: {}] [env: {}]",
                    f.help,
                    f.default_text(),
                    f.env()
                ));
            let arg = if f.list {
                arg.action(ArgAction::Append)
            } else if f.is_switch() {
                // `--log-json` alone means true; `--durable=false` says false.
                arg.num_args(0..=1)
                    .require_equals(true)
                    .default_missing_value("true")
            } else {
                arg.action(ArgAction::Set)
            };
            cmd.arg(arg)
        })
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}

impl clap::FromArgMatches for Flags {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let mut flags = Flags::default();
        flags.update_from_arg_matches(matches)?;
        Ok(flags)
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        let unexpected = |e: clap::parser::MatchesError| {
            clap::Error::raw(clap::error::ErrorKind::ArgumentConflict, e.to_string())
        };
        if let Some(file) = matches.try_get_one::<PathBuf>(CONFIG).map_err(unexpected)? {
            self.file = Some(file.clone());
        }
        for f in FIELDS {
            if let Some(values) = matches.try_get_many::<String>(f.name).map_err(unexpected)? {
                self.values.push((f.name, values.cloned().collect()));
            }
        }
        Ok(())
    }
}
