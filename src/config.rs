//! The typed configuration: read once at start-up from the TOML file (if
//! any), then overridden by environment variables, validated, and passed in.
//! Never a global.
//!
//! Every key `[section] key` may be set as `CORRIDOR_SECTION_KEY`; the
//! short names API.md gives (`CORRIDOR_BIND`, `CORRIDOR_DATABASE_URL`,
//! `CORRIDOR_JWT_SECRET`, `CORRIDOR_SMTP_URL`) work too.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// A duration written the way people write them: `90s`, `15m`, `48h`,
/// `21d`, `2w`, or combined, `1h30m`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct HumanDuration(pub chrono::Duration);

impl HumanDuration {
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("empty duration".into());
        }
        let mut total = chrono::Duration::zero();
        let mut number = String::new();
        for ch in text.chars() {
            if ch.is_ascii_digit() {
                number.push(ch);
                continue;
            }
            let n: i64 = number
                .parse()
                .map_err(|_| format!("`{text}` is not a duration like 90s, 15m, 48h or 21d"))?;
            number.clear();
            let part = match ch {
                's' => chrono::Duration::try_seconds(n),
                'm' => chrono::Duration::try_minutes(n),
                'h' => chrono::Duration::try_hours(n),
                'd' => chrono::Duration::try_days(n),
                'w' => chrono::Duration::try_weeks(n),
                _ => None,
            }
            .ok_or_else(|| format!("`{text}` is not a duration like 90s, 15m, 48h or 21d"))?;
            total += part;
        }
        if !number.is_empty() {
            return Err(format!("`{text}` lacks a unit (s, m, h, d or w)"));
        }
        Ok(Self(total))
    }

    pub fn std(self) -> std::time::Duration {
        self.0.to_std().unwrap_or_default()
    }
}

impl fmt::Debug for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}s", self.0.num_seconds())
    }
}

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0.num_seconds();
        for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60)] {
            if secs != 0 && secs % size == 0 {
                return write!(f, "{}{unit}", secs / size);
            }
        }
        write!(f, "{secs}s")
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl Serialize for HumanDuration {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

fn days(n: i64) -> HumanDuration {
    HumanDuration(chrono::Duration::days(n))
}

fn hours(n: i64) -> HumanDuration {
    HumanDuration(chrono::Duration::hours(n))
}

fn minutes(n: i64) -> HumanDuration {
    HumanDuration(chrono::Duration::minutes(n))
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub auth: AuthConfig,
    pub email: EmailConfig,
    pub stall: StallConfig,
    pub digest: DigestConfig,
    pub retention: RetentionConfig,
    pub partner: PartnerConfig,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    pub bind: String,
    pub public_url: String,
    /// Where generated secrets, the SQLite file (by default) and email files live.
    pub data_dir: PathBuf,
    /// HTTP worker threads; 0 means one per core.
    pub workers: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".into(),
            public_url: "http://127.0.0.1:8080".into(),
            data_dir: PathBuf::from("data"),
            workers: 0,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    pub url: String,
    pub pool_size: u32,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: "sqlite://data/corridor.db".into(),
            pool_size: 8,
        }
    }
}

#[derive(Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    pub jwt_secret: String,
    pub access_ttl: HumanDuration,
    pub refresh_ttl: HumanDuration,
    /// The email of the admin created on first start.
    pub first_admin_email: String,
}

impl fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthConfig")
            .field("jwt_secret", &"<redacted>")
            .field("access_ttl", &self.access_ttl)
            .field("refresh_ttl", &self.refresh_ttl)
            .finish()
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            jwt_secret: String::new(),
            access_ttl: minutes(15),
            refresh_ttl: days(14),
            first_admin_email: "admin@corridor.local".into(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmailConfig {
    pub smtp_url: String,
    pub from: String,
    /// How often the sender looks for due emails.
    pub send_every: HumanDuration,
}

impl Default for EmailConfig {
    fn default() -> Self {
        Self {
            smtp_url: String::new(),
            from: "Corridor <corridor@localhost>".into(),
            send_every: HumanDuration(chrono::Duration::seconds(10)),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct StallConfig {
    pub scan_every: HumanDuration,
    pub escalate_after: HumanDuration,
    pub intake: HumanDuration,
    pub safe_house: HumanDuration,
    pub transit: HumanDuration,
    pub resettlement: HumanDuration,
    pub silence_safe_house: HumanDuration,
    pub silence_transit: HumanDuration,
    pub silence_resettlement: HumanDuration,
}

impl Default for StallConfig {
    fn default() -> Self {
        Self {
            scan_every: minutes(5),
            escalate_after: hours(24),
            intake: days(3),
            safe_house: days(21),
            transit: days(5),
            resettlement: days(90),
            silence_safe_house: days(7),
            silence_transit: hours(48),
            silence_resettlement: days(30),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DigestConfig {
    pub weekday: String,
    pub time: String,
    pub timezone: String,
}

impl Default for DigestConfig {
    fn default() -> Self {
        Self {
            weekday: "mon".into(),
            time: "08:00".into(),
            timezone: "UTC".into(),
        }
    }
}

/// When the weekly status email goes out, parsed.
#[derive(Debug, Clone, Copy)]
pub struct DigestSchedule {
    pub weekday: chrono::Weekday,
    pub time: chrono::NaiveTime,
    pub timezone: chrono_tz::Tz,
}

impl DigestConfig {
    pub fn schedule(&self) -> Result<DigestSchedule, String> {
        let weekday = self
            .weekday
            .trim()
            .parse::<chrono::Weekday>()
            .map_err(|_| {
                format!(
                    "[digest] weekday `{}` is not a day such as mon",
                    self.weekday
                )
            })?;
        let time = chrono::NaiveTime::parse_from_str(self.time.trim(), "%H:%M")
            .map_err(|_| format!("[digest] time `{}` is not HH:MM", self.time))?;
        let timezone = self.timezone.trim().parse::<chrono_tz::Tz>().map_err(|_| {
            format!(
                "[digest] timezone `{}` is not an IANA name such as Europe/Berlin",
                self.timezone
            )
        })?;
        Ok(DigestSchedule {
            weekday,
            time,
            timezone,
        })
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    pub closed_personal_data: HumanDuration,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            closed_personal_data: days(180),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PartnerConfig {
    /// Requests a minute one API key may make.
    pub rate_limit_per_minute: u32,
    /// Unknown or malformed API keys one client address may present a minute.
    pub bad_keys_per_minute: u32,
}

impl Default for PartnerConfig {
    fn default() -> Self {
        Self {
            rate_limit_per_minute: 600,
            bad_keys_per_minute: 30,
        }
    }
}

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
        let config: Config = table
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError::Invalid(format!("configuration: {e}")))?;
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
        if self.partner.rate_limit_per_minute == 0 || self.partner.bad_keys_per_minute == 0 {
            return invalid("[partner] limits must be at least 1");
        }
        if self.database.pool_size == 0 {
            return invalid("[database] pool_size must be at least 1");
        }
        if self.auth.access_ttl.0 <= chrono::Duration::zero()
            || self.auth.refresh_ttl.0 <= self.auth.access_ttl.0
        {
            return invalid("[auth] access_ttl must be positive and shorter than refresh_ttl");
        }
        let stall = &self.stall;
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
    fn humane_durations_parse() {
        assert_eq!(HumanDuration::parse("90s").unwrap().0.num_seconds(), 90);
        assert_eq!(HumanDuration::parse("48h").unwrap().0.num_hours(), 48);
        assert_eq!(HumanDuration::parse("21d").unwrap().0.num_days(), 21);
        assert_eq!(HumanDuration::parse("1h30m").unwrap().0.num_minutes(), 90);
        for bad in ["", "10", "h", "3x", "-1d"] {
            assert!(
                HumanDuration::parse(bad).is_err(),
                "{bad} should be refused"
            );
        }
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
        let example = include_str!("../config/corridor.example.toml");
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
