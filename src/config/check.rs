//! Checks settings against each other, after each was checked alone where it was read.

use super::fields::field;
use super::load::ConfigError;
use super::Config;

/// A setting's value as text for a message: `50ms`, `8192`.
fn shown(name: &str, config: &Config) -> String {
    field(name)
        .and_then(|f| f.show(config))
        .map_or_else(|| "none".into(), |v| v.trim_matches('"').to_owned())
}

/// Fails when `ok` is false, with a message naming both settings and their values.
fn require(ok: bool, config: &Config, a: &str, relation: &str, b: &str) -> Result<(), ConfigError> {
    if ok {
        return Ok(());
    }
    Err(ConfigError::Conflict(format!(
        "{a} ({}) must {relation} {b} ({})",
        shown(a, config),
        shown(b, config)
    )))
}

/// Fails when a bucket's burst is below one token: nothing would ever pass.
fn at_least_one(burst: f64, config: &Config, name: &str, rate: &str) -> Result<(), ConfigError> {
    if burst >= 1.0 {
        return Ok(());
    }
    Err(ConfigError::Conflict(format!(
        "{name} ({}) must be at least 1, or no message ever passes {rate}",
        shown(name, config)
    )))
}

/// Checks the settings that only make sense together: orders of min and max, canvas sizes,
/// timeouts longer than the heartbeat, bursts that let at least one message through.
pub(crate) fn check(c: &Config) -> Result<(), ConfigError> {
    let not_above = "not be more than";
    require(
        c.tick_min <= c.tick_max,
        c,
        "tick_min",
        not_above,
        "tick_max",
    )?;
    require(
        c.store_retry_min <= c.store_retry_max,
        c,
        "store_retry_min",
        not_above,
        "store_retry_max",
    )?;
    require(
        c.lease_margin < c.lease_ttl,
        c,
        "lease_margin",
        "be less than",
        "lease_ttl",
    )?;
    if let Some(url) = &c.store {
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(ConfigError::Conflict(
                "store must be a PostgreSQL URL (postgres://user:password@host:port/db)".into(),
            ));
        }
    }
    if let Some(url) = &c.bus {
        if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
            return Err(ConfigError::Conflict(
                "bus must be a Redis URL (redis://host:port/db)".into(),
            ));
        }
        if c.store.is_none() {
            return Err(ConfigError::Conflict(
                "bus is for cluster nodes: set store (a PostgreSQL URL) too".into(),
            ));
        }
    }
    if let Some(url) = &c.advertise {
        if !url.starts_with("http://") {
            return Err(ConfigError::Conflict(format!(
                "advertise must be an http:// URL (nodes talk plain http to each other), not \
                 {url:?}"
            )));
        }
    }
    if c.store.is_some() && c.tls.is_some() {
        return Err(ConfigError::Conflict(
            "a cluster node serves plain http (nodes forward rooms to each other over it): \
             terminate TLS at the load balancer and leave tls_cert and tls_key unset"
                .into(),
        ));
    }
    require(
        c.snapshot_interval <= c.snapshot_max_delay,
        c,
        "snapshot_interval",
        not_above,
        "snapshot_max_delay",
    )?;
    require(
        c.heartbeat_interval < c.client_timeout,
        c,
        "heartbeat_interval",
        "be less than",
        "client_timeout",
    )?;
    require(
        c.default_width <= c.max_canvas_side,
        c,
        "default_width",
        not_above,
        "max_canvas_side",
    )?;
    require(
        c.default_height <= c.max_canvas_side,
        c,
        "default_height",
        not_above,
        "max_canvas_side",
    )?;
    require(
        c.max_points_per_message <= c.max_points_per_stroke,
        c,
        "max_points_per_message",
        not_above,
        "max_points_per_stroke",
    )?;
    require(
        c.min_text_size <= c.max_text_size,
        c,
        "min_text_size",
        not_above,
        "max_text_size",
    )?;
    at_least_one(c.message_burst, c, "message_burst", "messages_per_second")?;
    at_least_one(c.op_burst, c, "op_burst", "ops_per_second")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_defaults_pass() {
        check(&Config::default()).expect("the defaults are consistent");
    }

    #[test]
    fn a_minimum_above_its_maximum_is_refused_with_both_values() {
        let config = Config {
            tick_min: Duration::from_millis(60),
            ..Config::default()
        };
        let err = check(&config).expect_err("refused");
        assert_eq!(
            err.to_string(),
            "tick_min (60ms) must not be more than tick_max (50ms)"
        );
        let config = Config {
            store_retry_min: Duration::from_secs(20),
            ..Config::default()
        };
        let err = check(&config).expect_err("refused");
        assert_eq!(
            err.to_string(),
            "store_retry_min (20s) must not be more than store_retry_max (10s)"
        );
    }

    #[test]
    fn other_combinations_are_refused() {
        let refused = |config: Config, words: &str| {
            let err = check(&config).expect_err("refused").to_string();
            assert!(err.contains(words), "{err}");
        };
        let d = Config::default;
        refused(
            Config {
                heartbeat_interval: Duration::from_secs(30),
                ..d()
            },
            "heartbeat_interval (30s) must be less than client_timeout (20s)",
        );
        refused(
            Config {
                default_width: 9000,
                ..d()
            },
            "default_width (9000)",
        );
        refused(
            Config {
                default_height: 9000,
                ..d()
            },
            "default_height (9000)",
        );
        refused(
            Config {
                max_points_per_stroke: 10,
                ..d()
            },
            "max_points_per_message",
        );
        refused(
            Config {
                snapshot_interval: Duration::from_secs(9),
                ..d()
            },
            "snapshot_interval (9s)",
        );
        refused(
            Config {
                message_burst: 0.5,
                ..d()
            },
            "message_burst (0.5)",
        );
        refused(
            Config {
                op_burst: 0.5,
                ..d()
            },
            "op_burst (0.5)",
        );
    }
}
