//! The typed configuration: read once at start-up from the TOML file (if
//! any), then overridden by environment variables, validated, and passed in.
//! Never a global.
//!
//! Every key `[section] key` may be set as `CORRIDOR_SECTION_KEY`; the
//! short names API.md gives (`CORRIDOR_BIND`, `CORRIDOR_DATABASE_URL`,
//! `CORRIDOR_JWT_SECRET`, `CORRIDOR_SMTP_URL`) work too.

mod duration;
mod load;

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use duration::HumanDuration;
use duration::{days, hours, minutes};
pub use load::ConfigError;

/// The largest request body the API reads, in bytes.
pub const BODY_LIMIT: usize = 64 * 1024;

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
    pub documents: DocumentsConfig,
    pub partner: PartnerConfig,
    pub protection: ProtectionConfig,
    pub log: LogConfig,
    pub metrics: MetricsConfig,
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
    /// How long a stop (SIGTERM, SIGINT) waits for requests in flight and
    /// background work to finish.
    pub shutdown_timeout: HumanDuration,
    /// Addresses of proxies in front of Corridor, comma-separated: from
    /// these, the client address is the one `X-Forwarded-For` names.
    pub trusted_proxies: String,
}

impl ServerConfig {
    /// The trusted proxies, parsed (checked when the configuration loads).
    pub fn trusted_proxies(&self) -> Result<Vec<std::net::IpAddr>, String> {
        self.trusted_proxies
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| {
                p.parse()
                    .map_err(|_| format!("[server] trusted_proxies: `{p}` is not an IP address"))
            })
            .collect()
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".into(),
            public_url: "http://127.0.0.1:8080".into(),
            data_dir: PathBuf::from("data"),
            workers: 0,
            shutdown_timeout: HumanDuration(chrono::Duration::seconds(30)),
            trusted_proxies: String::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    pub url: String,
    pub pool_size: u32,
    /// SQLite only: the most the database file may grow to, in MiB (0: as
    /// far as the disk allows). Writes past it answer 507 as on a full
    /// disk, leaving room on the disk for the rest.
    pub max_size_mib: u32,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: "sqlite://data/corridor.db".into(),
            pool_size: 8,
            max_size_mib: 0,
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
    /// Failed sign-ins one client address may make in 15 minutes, across
    /// accounts, before it gets 429.
    pub sign_in_failures_per_address: u32,
}

impl fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthConfig")
            .field("jwt_secret", &"<redacted>")
            .field("access_ttl", &self.access_ttl)
            .field("refresh_ttl", &self.refresh_ttl)
            .field("first_admin_email", &self.first_admin_email)
            .field(
                "sign_in_failures_per_address",
                &self.sign_in_failures_per_address,
            )
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
            sign_in_failures_per_address: 20,
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
    /// How long after closing a case its personal data is shredded.
    pub closed_personal_data: HumanDuration,
    /// How often the retention sweep looks for cases due.
    pub sweep_every: HumanDuration,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            closed_personal_data: days(180),
            sweep_every: hours(1),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DocumentsConfig {
    /// How long before an issued document's `valid_until` the
    /// `document_expiring` alert is raised.
    pub expiring_within: HumanDuration,
}

impl Default for DocumentsConfig {
    fn default() -> Self {
        Self {
            expiring_within: days(30),
        }
    }
}

/// Where the master key comes from: `CORRIDOR_MASTER_KEY` (base64 of 32
/// bytes, from the environment only) wins, else `master_key_file`, else
/// `data_dir/master.key`, generated on first need.
#[derive(Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProtectionConfig {
    pub master_key_file: String,
    /// The shred list (ids of the cases whose keys were destroyed, so that
    /// a restored backup cannot open them); empty: beside the master key
    /// file (`<file>.shredded`), or `data_dir/shredded-cases` when the key
    /// comes from the environment.
    pub shred_list_file: String,
    /// `CORRIDOR_MASTER_KEY`; never read from a file, never written out,
    /// wiped from memory when dropped.
    #[serde(skip)]
    pub master_key: Option<zeroize::Zeroizing<String>>,
}

impl fmt::Debug for ProtectionConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProtectionConfig")
            .field("master_key_file", &self.master_key_file)
            .field("shred_list_file", &self.shred_list_file)
            .field(
                "master_key",
                &self.master_key.as_ref().map(|_| "<redacted>"),
            )
            .finish()
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

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `text` (one readable line each) or `json` (one JSON object each).
    pub format: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: "text".into(),
        }
    }
}

impl LogConfig {
    /// Whether lines are JSON (checked when the configuration loads).
    pub fn json(&self) -> bool {
        self.format == "json"
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// Where `/metrics` is served instead of the main address (e.g. a
    /// private network's); empty: on the main address.
    pub bind: String,
}
