//! Reading the configuration: the TOML file, then the environment, then
//! checks that refuse nonsense before anything starts.

use std::path::{Path, PathBuf};

use super::Config;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Invalid(String),
}

/// Short environment names from API.md, beside the generic `CORRIDOR_SECTION_KEY`.
const ALIASES: [(&str, &str, &str); 4] = [
    ("CORRIDOR_BIND", "server", "bind"),
    ("CORRIDOR_DATABASE_URL", "database", "url"),
    ("CORRIDOR_JWT_SECRET", "auth", "jwt_secret"),
    ("CORRIDOR_SMTP_URL", "email", "smtp_url"),
];

impl Config {
    /// Reads `file` (or `config/corridor.toml` when present and no file is
    /// named), then the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let default_file = Path::new("config/corridor.toml");
        let text = match file {
            Some(path) => Some(read(path)?),
            None if default_file.exists() => Some(read(default_file)?),
            None => None,
        };
        Self::from_sources(text.as_deref(), |name| std::env::var(name).ok())
    }

    /// Warns of each `CORRIDOR_*` variable in the environment that names no
    /// setting: by name only, as a value may be a secret.
    pub fn warn_unknown_variables() {
        let names = std::env::vars_os().filter_map(|(k, _)| k.into_string().ok());
        for name in unknown_variables(names) {
            log::warn!("{name} names no setting and is ignored{}", suggest(&name));
        }
    }

    /// Every environment variable a setting can be given by.
    pub fn variable_names() -> Vec<String> {
        let mut names: Vec<String> = ALIASES.iter().map(|(n, _, _)| n.to_string()).collect();
        names.push("CORRIDOR_MASTER_KEY".into());
        if let Ok(defaults) = toml::Table::try_from(Config::default()) {
            for (section, keys) in &defaults {
                for key in keys.as_table().into_iter().flat_map(|t| t.keys()) {
                    names.push(format!("CORRIDOR_{section}_{key}").to_uppercase());
                }
            }
        }
        names
    }

    /// Builds the configuration from TOML text and an environment lookup.
    pub fn from_sources(
        toml_text: Option<&str>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let mut table: toml::Table = match toml_text {
            Some(text) => toml::from_str(text)
                .map_err(|e| ConfigError::Invalid(format!("configuration file: {e}")))?,
            None => toml::Table::new(),
        };
        // The defaults tell which keys exist and of what type an environment value is.
        let defaults = toml::Table::try_from(Config::default())
            .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        for (section, keys) in &defaults {
            let Some(keys) = keys.as_table() else {
                continue;
            };
            for (key, default) in keys {
                let generic = format!("CORRIDOR_{}_{}", section, key).to_uppercase();
                let alias = ALIASES
                    .iter()
                    .find(|(_, s, k)| s == section && k == key)
                    .map(|(name, _, _)| *name);
                let value = env(&generic).or_else(|| alias.and_then(&env));
                let Some(value) = value else { continue };
                let typed = match default {
                    toml::Value::Integer(_) => value
                        .trim()
                        .parse()
                        .map(toml::Value::Integer)
                        .map_err(|_| ConfigError::Invalid(format!("{generic} must be a number")))?,
                    toml::Value::Boolean(_) => value
                        .trim()
                        .parse()
                        .map(toml::Value::Boolean)
                        .map_err(|_| {
                            ConfigError::Invalid(format!("{generic} must be true or false"))
                        })?,
                    _ => toml::Value::String(value),
                };
                table
                    .entry(section.clone())
                    .or_insert_with(|| toml::Value::Table(toml::Table::new()))
                    .as_table_mut()
                    .ok_or_else(|| ConfigError::Invalid(format!("[{section}] must be a table")))?
                    .insert(key.clone(), typed);
            }
        }
        let mut config: Config = table
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError::Invalid(format!("configuration: {e}")))?;
        config.protection.master_key = env("CORRIDOR_MASTER_KEY")
            .filter(|k| !k.trim().is_empty())
            .map(zeroize::Zeroizing::new);
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |m: &str| Err(ConfigError::Invalid(m.to_string()));
        self.digest.schedule().map_err(ConfigError::Invalid)?;
        if self.email.send_every.0 <= chrono::Duration::zero() {
            return invalid("[email] send_every must be longer than zero");
        }
        if !self.email.smtp_url.is_empty()
            && !self.email.smtp_url.starts_with("smtp://")
            && !self.email.smtp_url.starts_with("smtps://")
        {
            return invalid("[email] smtp_url must start with smtp:// or smtps://");
        }
        if self.email.from.parse::<lettre::message::Mailbox>().is_err() {
            return invalid(
                "[email] from must be an address such as Corridor <corridor@example.org>",
            );
        }
        self.server
            .trusted_proxies()
            .map_err(ConfigError::Invalid)?;
        if !matches!(self.log.format.as_str(), "text" | "json") {
            return invalid("[log] format must be text or json");
        }
        if self.server.shutdown_timeout.0 < chrono::Duration::zero() {
            return invalid("[server] shutdown_timeout must not be negative");
        }
        if !self.metrics.bind.is_empty()
            && self.metrics.bind.parse::<std::net::SocketAddr>().is_err()
        {
            return invalid("[metrics] bind must be an address such as 10.0.0.5:9100");
        }
        if self.auth.sign_in_failures_per_address == 0 {
            return invalid("[auth] sign_in_failures_per_address must be at least 1");
        }
        if self.partner.rate_limit_per_minute == 0 || self.partner.bad_keys_per_minute == 0 {
            return invalid("[partner] limits must be at least 1");
        }
        if self.database.pool_size == 0 {
            return invalid("[database] pool_size must be at least 1");
        }
        if self.database.max_size_mib > 0 && !self.database.url.starts_with("sqlite://") {
            return invalid(
                "[database] max_size_mib caps a SQLite file; give PostgreSQL's disk its own limits",
            );
        }
        if self.auth.access_ttl.0 <= chrono::Duration::zero()
            || self.auth.refresh_ttl.0 <= self.auth.access_ttl.0
        {
            return invalid("[auth] access_ttl must be positive and shorter than refresh_ttl");
        }
        let stall = &self.stall;
        if self.retention.closed_personal_data.0 <= chrono::Duration::zero()
            || self.retention.sweep_every.0 <= chrono::Duration::zero()
        {
            return invalid("[retention] durations must be longer than zero");
        }
        for (name, value) in [
            ("scan_every", stall.scan_every),
            ("escalate_after", stall.escalate_after),
            ("intake", stall.intake),
            ("safe_house", stall.safe_house),
            ("transit", stall.transit),
            ("resettlement", stall.resettlement),
            ("silence_safe_house", stall.silence_safe_house),
            ("silence_transit", stall.silence_transit),
            ("silence_resettlement", stall.silence_resettlement),
        ] {
            if value.0 <= chrono::Duration::zero() {
                return Err(ConfigError::Invalid(format!(
                    "[stall] {name} must be longer than zero"
                )));
            }
        }
        if !self.auth.jwt_secret.is_empty() && self.auth.jwt_secret.len() < 32 {
            return invalid(
                "[auth] jwt_secret must be at least 32 characters (or empty to generate one)",
            );
        }
        Ok(())
    }
}

/// The `CORRIDOR_*` names among `names` that no setting answers to (a typo
/// would otherwise be ignored in silence). `CORRIDOR_TEST_*` belong to the
/// test suite, `CORRIDOR_CI_*` to the CI scripts.
/// The project's own build variables (read by `build.rs`, and set by
/// cargo for the programs it runs): no setting, and no typo of one.
const BUILD_VARIABLES: [&str; 1] = ["CORRIDOR_COMMIT"];

pub fn unknown_variables(names: impl Iterator<Item = String>) -> Vec<String> {
    let known = Config::variable_names();
    let mut unknown: Vec<String> = names
        .filter(|n| n.starts_with("CORRIDOR_"))
        .filter(|n| !n.starts_with("CORRIDOR_TEST_") && !n.starts_with("CORRIDOR_CI_"))
        .filter(|n| !BUILD_VARIABLES.contains(&n.as_str()))
        .filter(|n| !known.contains(n))
        .collect();
    unknown.sort();
    unknown
}

/// `" (did you mean X?)"` for the known name closest to `name`, when one is
/// close enough to be a typo of it.
pub fn suggest(name: &str) -> String {
    Config::variable_names()
        .into_iter()
        .map(|known| (edit_distance(name, &known), known))
        .filter(|(distance, _)| *distance <= 3)
        .min()
        .map(|(_, known)| format!(" (did you mean {known}?)"))
        .unwrap_or_default()
}

/// Levenshtein distance, by characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (diagonal + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(above + 1);
            diagonal = above;
        }
    }
    row[b.len()]
}

fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_variable_that_names_no_setting_is_found_with_its_likely_meaning() {
        let names = [
            "CORRIDOR_STALL_TRANSITT",
            "CORRIDOR_STALL_TRANSIT",
            "CORRIDOR_BIND",
            "CORRIDOR_MASTER_KEY",
            "CORRIDOR_TEST_POSTGRES_URL",
            "CORRIDOR_CI_SECONDS",
            "CORRIDOR_COMMIT",
            "PATH",
            "CORRIDOR_NOTHING_LIKE_IT",
        ];
        let unknown = unknown_variables(names.iter().map(|n| n.to_string()));
        assert_eq!(
            unknown,
            ["CORRIDOR_NOTHING_LIKE_IT", "CORRIDOR_STALL_TRANSITT"]
        );
        assert_eq!(
            suggest("CORRIDOR_STALL_TRANSITT"),
            " (did you mean CORRIDOR_STALL_TRANSIT?)"
        );
        assert_eq!(suggest("CORRIDOR_NOTHING_LIKE_IT"), "");
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn defaults_match_the_design() {
        let config = Config::from_sources(None, |_| None).unwrap();
        assert_eq!(config.server.bind, "127.0.0.1:8080");
        assert_eq!(config.database.url, "sqlite://data/corridor.db");
        assert_eq!(config.stall.transit.0.num_days(), 5);
        assert_eq!(config.stall.silence_transit.0.num_hours(), 48);
        assert_eq!(config.auth.access_ttl.0.num_minutes(), 15);
    }

    #[test]
    fn the_environment_overrides_the_file() {
        let file =
            "[database]\nurl = \"sqlite://file.db\"\npool_size = 3\n[stall]\nintake = \"1d\"\n";
        let config = Config::from_sources(Some(file), |name| match name {
            "CORRIDOR_DATABASE_URL" => Some("postgres://x/y".into()),
            "CORRIDOR_STALL_TRANSIT" => Some("2d".into()),
            "CORRIDOR_DATABASE_POOL_SIZE" => Some("4".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(config.database.url, "postgres://x/y");
        assert_eq!(config.database.pool_size, 4);
        assert_eq!(config.stall.intake.0.num_days(), 1);
        assert_eq!(config.stall.transit.0.num_days(), 2);
    }

    #[test]
    fn the_example_file_is_valid_and_matches_the_defaults() {
        let example = include_str!("../../config/corridor.example.toml");
        let config = Config::from_sources(Some(example), |_| None).unwrap();
        let defaults = Config::default();
        assert_eq!(
            toml::Table::try_from(&config).unwrap(),
            toml::Table::try_from(&defaults).unwrap()
        );
    }

    #[test]
    fn the_digest_schedule_parses_and_refuses_nonsense() {
        let config = Config::from_sources(
            Some("[digest]\nweekday = \"fri\"\ntime = \"17:30\"\ntimezone = \"Europe/Berlin\"\n"),
            |_| None,
        )
        .unwrap();
        let schedule = config.digest.schedule().unwrap();
        assert_eq!(schedule.weekday, chrono::Weekday::Fri);
        assert_eq!(schedule.timezone, chrono_tz::Europe::Berlin);
        for bad in [
            "weekday = \"someday\"",
            "time = \"8am\"",
            "timezone = \"Mars/Olympus\"",
        ] {
            assert!(
                Config::from_sources(Some(&format!("[digest]\n{bad}\n")), |_| None).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused() {
        assert!(Config::from_sources(Some("[server]\nbnd = \"x\"\n"), |_| None).is_err());
        assert!(Config::from_sources(Some("[stall]\nintake = \"soon\"\n"), |_| None).is_err());
        assert!(
            Config::from_sources(None, |n| (n == "CORRIDOR_DATABASE_POOL_SIZE")
                .then(|| "many".into()))
            .is_err()
        );
    }
}
