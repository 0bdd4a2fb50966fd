//! Writes settings out: the effective configuration as TOML (`inkroom config`), [`Config`]'s
//! `Debug` (secrets masked), and the settings tables of `docs/configuration.md`.

use std::fmt::{self, Write as _};

use super::fields::{Section, FIELDS};
use super::Config;

/// The effective configuration as TOML that `--config` reads back, by section, secrets masked.
/// A setting that is unset is a comment naming it.
pub fn to_toml(config: &Config) -> String {
    let mut out = String::from(
        "# inkroom's effective configuration: the defaults, then the --config file, the INKROOM_*\n\
         # variables and the flags. `inkroom --config FILE` reads it back. Secrets are masked:\n\
         # set them again before using it.\n",
    );
    for section in Section::ALL {
        let _ = writeln!(out, "\n# {}", section.title());
        for f in FIELDS.iter().filter(|f| f.section == section) {
            let _ = match f.show(config) {
                Some(value) => writeln!(out, "{} = {value}", f.name),
                None => writeln!(out, "# {} is not set", f.name),
            };
        }
    }
    out
}

impl fmt::Debug for Config {
    /// Every setting as `inkroom config` shows it: secrets masked, so a logged `Config` never
    /// carries the admin token.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("Config");
        for field in FIELDS {
            let value = field.show(self).unwrap_or_else(|| "none".into());
            s.field(field.name, &format_args!("{value}"));
        }
        s.finish()
    }
}

/// Markdown-escapes text for a table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The settings as Markdown, one table per section: key, flag, environment variable, default
/// and meaning. `docs/configuration.md` holds exactly this between its markers.
pub fn markdown() -> String {
    let mut out = String::new();
    for section in Section::ALL {
        let _ = writeln!(out, "### {}\n", section.title());
        out.push_str("| Key | Flag | Environment | Default | Meaning |\n");
        out.push_str("|---|---|---|---|---|\n");
        for f in FIELDS.iter().filter(|f| f.section == section) {
            let flag = if f.is_switch() {
                format!("`--{}[=BOOL]`", f.flag())
            } else if f.list {
                format!("`--{} {}` (repeat)", f.flag(), f.placeholder)
            } else {
                format!("`--{} {}`", f.flag(), f.placeholder)
            };
            let env = if f.list {
                format!("`{}` (comma-separated)", f.env())
            } else {
                format!("`{}`", f.env())
            };
            let _ = writeln!(
                out,
                "| `{}` | {flag} | {env} | `{}` | {} Expects {}.{} |",
                f.name,
                cell(&f.default_text()),
                cell(f.help),
                cell(f.expected),
                if f.secret { " **Secret.**" } else { "" },
            );
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_toml_reads_back_as_toml_with_every_setting() {
        let text = to_toml(&Config::default());
        let table: toml::Table = text.parse().expect("valid TOML");
        for f in FIELDS {
            let set = table.contains_key(f.name);
            let commented = text.contains(&format!("# {} is not set", f.name));
            assert!(set != commented, "{} once, set or not", f.name);
        }
    }

    #[test]
    fn secrets_are_masked_in_toml_and_debug() {
        let config = Config {
            admin_token: Some("hunter2".into()),
            ..Config::default()
        };
        let text = to_toml(&config);
        assert!(text.contains("admin_token = \"********\""), "{text}");
        assert!(!text.contains("hunter2"));
        assert!(!format!("{config:?}").contains("hunter2"));
        assert!(!format!("{config:#?}").contains("hunter2"));
    }

    #[test]
    fn debug_lists_every_field_of_config() {
        // Naming every field without `..` fails to compile when `Config` gains one: then add
        // it to FIELDS (and here).
        macro_rules! names {
            ($($name:ident),* $(,)?) => {{
                let Config { $($name: _),* } = Config::default();
                vec![$(stringify!($name)),*]
            }};
        }
        let mut fields = names![
            addr,
            data_dir,
            tls,
            default_width,
            default_height,
            max_canvas_side,
            max_export_pixels,
            max_room_name_chars,
            max_member_name_chars,
            max_http_body_bytes,
            max_image_bytes,
            max_concurrent_uploads,
            max_image_pixels,
            room_image_bytes,
            max_frame_bytes,
            max_points_per_message,
            max_points_per_stroke,
            max_open_strokes,
            max_lasso_points,
            max_selection_pixels,
            max_stroke_width,
            min_text_size,
            max_text_size,
            max_text_chars,
            messages_per_second,
            message_burst,
            ops_per_second,
            op_burst,
            paint_pixels_per_second,
            paint_burst_pixels,
            rate_strikes,
            max_loaded_rooms,
            max_editors_per_room,
            max_viewers_per_room,
            listed_viewers,
            member_page,
            presence_interval,
            tick_min,
            tick_max,
            tick_burst,
            frames_per_second,
            crowd_frames_per_second,
            crowd_members,
            crowd_slices,
            room_input_queue,
            control_queue,
            outbox_frames,
            outbox_bytes,
            snapshot_interval,
            snapshot_max_delay,
            undo_depth,
            checkpoint_every,
            history_window,
            keyframe_every,
            keyframe_megapixels,
            history_renders,
            timelapse_jobs,
            max_timelapse_frames,
            max_timelapse_frame_pixels,
            room_idle_unload,
            allowed_origins,
            durable,
            cursor_interval,
            heartbeat_interval,
            client_timeout,
            hello_timeout,
            write_timeout,
            max_store_bytes,
            store_retry_min,
            store_retry_max,
            remembered_ops,
            store,
            bus,
            advertise,
            lease_ttl,
            lease_margin,
            admin_token,
            admin_page_max,
            room_retention,
            log_json,
        ];
        // `tls` is two settings: the certificate and the key.
        fields.retain(|f| *f != "tls");
        fields.extend(["tls_cert", "tls_key"]);
        fields.sort_unstable();
        let mut settings: Vec<&str> = FIELDS.iter().map(|f| f.name).collect();
        settings.sort_unstable();
        assert_eq!(settings, fields);
    }

    #[test]
    fn markdown_has_a_row_per_setting() {
        let md = markdown();
        for f in FIELDS {
            assert!(md.contains(&format!("| `{}` |", f.name)), "{}", f.name);
        }
        assert!(md.contains("`--allow-origin ORIGIN` (repeat)"));
        assert!(md.contains("`--log-json[=BOOL]`"));
    }
}
