//! Extension settings (`OrderSync::configure()` / php.ini `shoppingfeed_sync.*`), validated here so that
//! a bad value is refused with the option's name and never with a secret in the message.

use crate::error::ConfigError;
use std::fmt;
use std::time::Duration;

pub const DEFAULT_TABLE_PREFIX: &str = "ps_";
pub const DEFAULT_API_BASE_URL: &str = "https://api.shopping-feed.com";
pub const DEFAULT_HTTP_TIMEOUT_MS: i64 = 10_000;
pub const DEFAULT_DATABASE_URL: &str = "mysql://root@127.0.0.1:3306/prestashop";

/// The option names `configure()` accepts (the PHP glue adds `mailer`, a callable).
pub const OPTION_NAMES: [&str; 6] = [
    "database_url",
    "table_prefix",
    "api_base_url",
    "http_timeout_ms",
    "invoice_dir",
    "mailer",
];

/// A value given for an option, as it came from PHP.
#[derive(Debug, Clone, PartialEq)]
pub enum OptionValue {
    Str(String),
    Int(i64),
    Bool(bool),
    Float(f64),
    Null,
    /// An array, an object or anything else no option accepts.
    Other(&'static str),
}

impl OptionValue {
    fn type_name(&self) -> &'static str {
        match self {
            OptionValue::Str(_) => "string",
            OptionValue::Int(_) => "int",
            OptionValue::Bool(_) => "bool",
            OptionValue::Float(_) => "float",
            OptionValue::Null => "null",
            OptionValue::Other(t) => t,
        }
    }
}

/// Where and how to connect to MySQL/MariaDB. Its `Debug`/`Display` never show the password.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    pub user: String,
    pub password: Option<String>,
    pub host: String,
    pub port: u16,
    pub database: String,
    pub socket: Option<String>,
    /// TLS over TCP (`?ssl_mode=`, `?ssl_ca=`); a Unix socket is local and never encrypted.
    pub tls: Option<Tls>,
}

/// How far the server's certificate is checked, as MySQL's `--ssl-mode` (and PDO's
/// `MYSQL_ATTR_SSL_CA` / `MYSQL_ATTR_SSL_VERIFY_SERVER_CERT`) name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// Encrypted, the certificate not checked (`ssl_mode=required`).
    Required,
    /// Encrypted, the certificate signed by a trusted CA, any host name (`verify_ca`).
    VerifyCa,
    /// Encrypted, the certificate trusted and issued for the host connected to (`verify_identity`).
    VerifyIdentity,
}

impl TlsMode {
    pub fn as_str(self) -> &'static str {
        match self {
            TlsMode::Required => "required",
            TlsMode::VerifyCa => "verify_ca",
            TlsMode::VerifyIdentity => "verify_identity",
        }
    }
}

/// TLS settings of a database URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tls {
    pub mode: TlsMode,
    /// PEM file of the CA(s) to trust instead of the built-in web roots (a managed database's CA).
    pub ca_file: Option<String>,
}

impl DatabaseUrl {
    /// Parses `mysql://user:pass@host:port/db` with the optional query parameters `socket=/path`,
    /// `ssl_mode=required|verify_ca|verify_identity|disabled` and `ssl_ca=/path/ca.pem` (alone, it
    /// means `verify_identity` with that CA).
    pub fn parse(url: &str) -> Result<Self, ConfigError> {
        let bad = |reason: &str| ConfigError::invalid("database_url", reason);
        let rest = url
            .strip_prefix("mysql://")
            .ok_or_else(|| bad("must start with mysql://"))?;
        let (main, query) = match rest.split_once('?') {
            Some((m, q)) => (m, Some(q)),
            None => (rest, None),
        };
        let (authority, database) = main
            .split_once('/')
            .ok_or_else(|| bad("must name a database: mysql://user:pass@host:port/database"))?;
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        let (user, password) = match userinfo {
            Some(u) => match u.split_once(':') {
                Some((name, pass)) => (
                    percent_decode(name, "user name")?,
                    Some(percent_decode(pass, "password")?),
                ),
                None => (percent_decode(u, "user name")?, None),
            },
            None => ("root".to_string(), None),
        };
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) => (
                h,
                p.parse::<u16>()
                    .ok()
                    .filter(|p| *p > 0)
                    .ok_or_else(|| bad("has a port that is not a number between 1 and 65535"))?,
            ),
            None => (hostport, 3306),
        };
        let mut socket = None;
        let mut mode: Option<Option<TlsMode>> = None;
        let mut ca_file = None;
        if let Some(q) = query {
            for pair in q.split('&').filter(|p| !p.is_empty()) {
                match pair.split_once('=') {
                    Some(("socket", path)) if !path.is_empty() => {
                        socket = Some(percent_decode(path, "socket path")?)
                    }
                    Some(("ssl_mode", value)) => {
                        mode = Some(match value.to_ascii_lowercase().as_str() {
                            "disabled" => None,
                            "required" => Some(TlsMode::Required),
                            "verify_ca" => Some(TlsMode::VerifyCa),
                            "verify_identity" => Some(TlsMode::VerifyIdentity),
                            _ => {
                                return Err(bad(
                                    "has an ssl_mode other than disabled, required, verify_ca or verify_identity",
                                ))
                            }
                        })
                    }
                    Some(("ssl_ca", path)) if !path.is_empty() => {
                        ca_file = Some(percent_decode(path, "ssl_ca path")?)
                    }
                    _ => {
                        return Err(bad(
                            "accepts only the query parameters socket, ssl_mode and ssl_ca",
                        ))
                    }
                }
            }
        }
        let tls = match (mode, ca_file) {
            (Some(None), Some(_)) => return Err(bad("has ssl_ca with ssl_mode=disabled")),
            (Some(None), None) | (None, None) => None,
            (Some(Some(mode)), ca_file) => Some(Tls { mode, ca_file }),
            (None, Some(ca_file)) => Some(Tls {
                mode: TlsMode::VerifyIdentity,
                ca_file: Some(ca_file),
            }),
        };
        if host.is_empty() && socket.is_none() {
            return Err(bad("has no host"));
        }
        let database = percent_decode(database, "database name")?;
        if database.is_empty()
            || !database
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '$')
        {
            return Err(bad("has an empty or invalid database name"));
        }
        if user.is_empty() {
            return Err(bad("has an empty user name"));
        }
        Ok(DatabaseUrl {
            user,
            password,
            host: host.to_string(),
            port,
            database,
            socket,
            tls,
        })
    }

    /// The URL with the password masked, for logs and messages.
    pub fn redacted(&self) -> String {
        let pass = if self.password.is_some() { ":***" } else { "" };
        let mut query = Vec::new();
        if let Some(s) = &self.socket {
            query.push(format!("socket={s}"));
        }
        if let Some(tls) = &self.tls {
            query.push(format!("ssl_mode={}", tls.mode.as_str()));
            if let Some(ca) = &tls.ca_file {
                query.push(format!("ssl_ca={ca}"));
            }
        }
        let query = if query.is_empty() {
            String::new()
        } else {
            format!("?{}", query.join("&"))
        };
        format!(
            "mysql://{}{}@{}:{}/{}{}",
            self.user, pass, self.host, self.port, self.database, query
        )
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// Decodes `%XX` escapes (a `%` not followed by two hex digits stays as it is). The decoded bytes
/// must be UTF-8: the error names the part, never its value (it may be the password).
fn percent_decode(s: &str, part: &str) -> Result<String, ConfigError> {
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| {
            ConfigError::invalid(
                "database_url",
                &format!("has a {part} that is not valid UTF-8 once percent-decoded"),
            )
        })
}

/// The shop's time zone, PrestaShop's `PS_TIMEZONE` (an IANA name such as `Europe/Paris`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShopTimeZone(chrono_tz::Tz);

impl ShopTimeZone {
    /// `None` for an empty or unknown name.
    pub fn parse(name: &str) -> Option<Self> {
        name.trim().parse::<chrono_tz::Tz>().ok().map(ShopTimeZone)
    }

    /// The zone's UTC offset at `at`, as MySQL's `time_zone` takes it (`+01:00`, `-05:30`);
    /// `None` beyond what every supported server accepts (-12:59 to +13:00: MariaDB and MySQL
    /// before 8.0.19), so that every process falls back to the server's zone the same way.
    pub fn offset_at(self, at: chrono::DateTime<chrono::Utc>) -> Option<String> {
        use chrono::Offset;
        let seconds = at.with_timezone(&self.0).offset().fix().local_minus_utc();
        if !(-(12 * 3600 + 59 * 60)..=13 * 3600).contains(&seconds) {
            return None;
        }
        let sign = if seconds < 0 { '-' } else { '+' };
        let minutes = seconds.unsigned_abs() / 60;
        Some(format!("{sign}{:02}:{:02}", minutes / 60, minutes % 60))
    }
}

/// A validated table prefix: letters, digits and underscores only, because it is pasted into SQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TablePrefix(String);

impl TablePrefix {
    pub fn new(prefix: &str) -> Result<Self, ConfigError> {
        if prefix.len() > 32 {
            return Err(ConfigError::invalid(
                "table_prefix",
                "is longer than 32 characters",
            ));
        }
        if !prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(ConfigError::invalid(
                "table_prefix",
                "may only contain letters, digits and underscores",
            ));
        }
        Ok(TablePrefix(prefix.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `prefix + name`, e.g. `ps_orders`.
    pub fn table(&self, name: &str) -> String {
        format!("{}{}", self.0, name)
    }
}

impl Default for TablePrefix {
    fn default() -> Self {
        TablePrefix(DEFAULT_TABLE_PREFIX.to_string())
    }
}

/// Everything the core needs to reach the shop database and the API.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub database_url: DatabaseUrl,
    pub table_prefix: TablePrefix,
    pub api_base_url: String,
    pub http_timeout: Duration,
    /// Where the module renders the invoices the CRON uploads (`{dir}/{id_order}.pdf`).
    pub invoice_dir: std::path::PathBuf,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            // The default parses: the constant is checked by a unit test.
            database_url: DatabaseUrl {
                user: "root".into(),
                password: None,
                host: "127.0.0.1".into(),
                port: 3306,
                database: "prestashop".into(),
                socket: None,
                tls: None,
            },
            table_prefix: TablePrefix::default(),
            api_base_url: DEFAULT_API_BASE_URL.to_string(),
            http_timeout: Duration::from_millis(DEFAULT_HTTP_TIMEOUT_MS as u64),
            invoice_dir: default_invoice_dir(),
        }
    }
}

impl Settings {
    /// Applies one option; the settings are unchanged when it fails.
    pub fn set(&mut self, name: &str, value: OptionValue) -> Result<(), ConfigError> {
        match name {
            "database_url" => {
                self.database_url = DatabaseUrl::parse(&expect_str(name, value)?)?;
            }
            "table_prefix" => self.table_prefix = TablePrefix::new(&expect_str(name, value)?)?,
            "api_base_url" => self.api_base_url = parse_base_url(&expect_str(name, value)?)?,
            "http_timeout_ms" => {
                let ms = match value {
                    OptionValue::Int(v) => v,
                    OptionValue::Str(s) if s.trim().parse::<i64>().is_ok() => {
                        s.trim().parse::<i64>().unwrap_or_default()
                    }
                    other => return Err(ConfigError::wrong_type(name, "int", other.type_name())),
                };
                if !(1..=600_000).contains(&ms) {
                    return Err(ConfigError::invalid(
                        name,
                        "must be between 1 and 600000 milliseconds",
                    ));
                }
                self.http_timeout = Duration::from_millis(ms as u64);
            }
            "invoice_dir" => self.invoice_dir = parse_invoice_dir(&expect_str(name, value)?)?,
            _ => return Err(ConfigError::Unknown(name.to_string())),
        }
        Ok(())
    }
}

fn expect_str(name: &str, value: OptionValue) -> Result<String, ConfigError> {
    match value {
        OptionValue::Str(s) => Ok(s),
        other => Err(ConfigError::wrong_type(name, "string", other.type_name())),
    }
}

/// An absolute directory path (it need not exist yet: the module creates it when it renders).
fn parse_invoice_dir(dir: &str) -> Result<std::path::PathBuf, ConfigError> {
    let trimmed = dir.trim();
    if trimmed.contains('\0') || !trimmed.starts_with('/') {
        return Err(ConfigError::invalid(
            "invoice_dir",
            "must be an absolute directory path",
        ));
    }
    Ok(std::path::PathBuf::from(trimmed))
}

fn parse_base_url(url: &str) -> Result<String, ConfigError> {
    let url = url.trim_end_matches('/');
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| {
            ConfigError::invalid("api_base_url", "must start with http:// or https://")
        })?;
    let host = rest.split('/').next().unwrap_or_default();
    if host.is_empty() || host.contains(char::is_whitespace) || host.contains('@') {
        return Err(ConfigError::invalid("api_base_url", "has no valid host"));
    }
    Ok(url.to_string())
}

/// The default invoice directory: `{temp}/shoppingfeed_sync/invoices` (the module passes its
/// own, in PrestaShop's cache directory).
pub fn default_invoice_dir() -> std::path::PathBuf {
    std::env::temp_dir()
        .join("shoppingfeed_sync")
        .join("invoices")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_full_url_and_hides_the_password() {
        let u = DatabaseUrl::parse("mysql://shop:s3cr%40t@db.local:3307/presta").unwrap();
        assert_eq!(u.user, "shop");
        assert_eq!(u.password.as_deref(), Some("s3cr@t"));
        assert_eq!((u.host.as_str(), u.port), ("db.local", 3307));
        assert_eq!(u.database, "presta");
        let shown = format!("{u} {u:?}");
        assert!(!shown.contains("s3cr"), "{shown}");
        assert!(shown.contains("shop:***@db.local:3307/presta"));
    }

    #[test]
    fn parses_a_socket_url() {
        let u =
            DatabaseUrl::parse("mysql://root@localhost/ps?socket=/run/mysqld/mysqld.sock").unwrap();
        assert_eq!(u.socket.as_deref(), Some("/run/mysqld/mysqld.sock"));
        assert_eq!(u.port, 3306);
        assert_eq!(u.password, None);
    }

    #[test]
    fn default_database_url_constant_matches_the_default_settings() {
        assert_eq!(
            DatabaseUrl::parse(DEFAULT_DATABASE_URL).unwrap(),
            Settings::default().database_url
        );
    }

    #[test]
    fn refuses_bad_database_urls_without_echoing_them() {
        for bad in [
            "postgres://u:topsecret@h/db",
            "mysql://u:topsecret@h:99999/db",
            "mysql://u:topsecret@h:3306",
            "mysql://u:topsecret@h:3306/db?ssl=1",
            "mysql://u:topsecret@h:3306/db?ssl_mode=preferred",
            "mysql://u:topsecret@h:3306/db?ssl_mode=disabled&ssl_ca=/ca.pem",
            "mysql://u:topsecret@h:3306/d;b",
        ] {
            let e = DatabaseUrl::parse(bad).unwrap_err();
            let msg = e.to_string();
            assert!(msg.contains("database_url"), "{msg}");
            assert!(!msg.contains("topsecret"), "{msg}");
        }
    }

    #[test]
    fn a_percent_before_a_multibyte_character_is_no_panic_and_no_leak() {
        // The old decoder sliced the string at byte offsets and panicked inside "é".
        for url in [
            "mysql://u:top%\u{e9}secret@h/db",
            "mysql://u:topsecret%\u{e9}@h/db",
            "mysql://u:topsecret%a\u{e9}@h/db",
            "mysql://u%\u{e9}:topsecret@h/db",
            "mysql://u:topsecret@h/db%\u{e9}",
            "mysql://u:topsecret@h/db?socket=/tmp/%\u{e9}",
        ] {
            match DatabaseUrl::parse(url) {
                Ok(u) => assert!(!u.to_string().contains("topsecret")),
                Err(e) => assert!(!e.to_string().contains("topsecret"), "{e}"),
            }
        }
        let u = DatabaseUrl::parse("mysql://u:p%\u{e9}%41@h/db").unwrap();
        assert_eq!(u.password.as_deref(), Some("p%\u{e9}A"));
        let e = DatabaseUrl::parse("mysql://u:topsecret%FF@h/db").unwrap_err();
        assert!(e.to_string().contains("password"), "{e}");
        assert!(!e.to_string().contains("topsecret"), "{e}");
    }

    #[test]
    fn parses_the_tls_parameters() {
        let tls = |url: &str| DatabaseUrl::parse(url).unwrap().tls;
        assert_eq!(tls("mysql://u:p@h/db"), None);
        assert_eq!(tls("mysql://u:p@h/db?ssl_mode=DISABLED"), None);
        assert_eq!(
            tls("mysql://u:p@h/db?ssl_mode=required"),
            Some(Tls {
                mode: TlsMode::Required,
                ca_file: None
            })
        );
        assert_eq!(
            tls("mysql://u:p@h/db?ssl_mode=VERIFY_CA&ssl_ca=/etc/ssl/my%20ca.pem"),
            Some(Tls {
                mode: TlsMode::VerifyCa,
                ca_file: Some("/etc/ssl/my ca.pem".into())
            })
        );
        assert_eq!(
            tls("mysql://u:p@h/db?ssl_ca=/ca.pem"),
            Some(Tls {
                mode: TlsMode::VerifyIdentity,
                ca_file: Some("/ca.pem".into())
            })
        );
        let u =
            DatabaseUrl::parse("mysql://u:p@h/db?ssl_mode=verify_identity&ssl_ca=/ca.pem").unwrap();
        assert_eq!(
            u.redacted(),
            "mysql://u:***@h:3306/db?ssl_mode=verify_identity&ssl_ca=/ca.pem"
        );
        // Another mode is another pool: the key of the process's pool is the redacted URL.
        assert_ne!(
            u.redacted(),
            DatabaseUrl::parse("mysql://u:p@h/db?ssl_mode=required")
                .unwrap()
                .redacted()
        );
    }

    #[test]
    fn shop_time_zones_give_their_offset_with_dst() {
        use chrono::TimeZone;
        let paris = ShopTimeZone::parse("Europe/Paris").unwrap();
        let winter = chrono::Utc.with_ymd_and_hms(2026, 1, 15, 12, 0, 0).unwrap();
        let summer = chrono::Utc.with_ymd_and_hms(2026, 7, 15, 12, 0, 0).unwrap();
        let at = |z: &str, t| ShopTimeZone::parse(z).unwrap().offset_at(t);
        assert_eq!(paris.offset_at(winter).as_deref(), Some("+01:00"));
        assert_eq!(paris.offset_at(summer).as_deref(), Some("+02:00"));
        assert_eq!(at(" Asia/Kolkata ", winter).as_deref(), Some("+05:30"));
        assert_eq!(at("America/St_Johns", winter).as_deref(), Some("-03:30"));
        assert_eq!(at("UTC", winter).as_deref(), Some("+00:00"));
        assert_eq!(at("Pacific/Tongatapu", winter).as_deref(), Some("+13:00"));
        // Beyond the servers' range: the server's zone, for every process alike.
        assert_eq!(at("Pacific/Kiritimati", winter), None);
        assert_eq!(at("Pacific/Chatham", winter), None); // +13:45 in its summer
        assert_eq!(at("Pacific/Chatham", summer).as_deref(), Some("+12:45"));
        assert_eq!(ShopTimeZone::parse(""), None);
        assert_eq!(ShopTimeZone::parse("Mars/Olympus"), None);
    }

    #[test]
    fn table_prefix_refuses_sql_metacharacters() {
        assert!(TablePrefix::new("ps_").is_ok());
        assert!(TablePrefix::new("").is_ok());
        for bad in ["ps`", "ps; DROP", "ps-", "p s"] {
            assert!(TablePrefix::new(bad).is_err(), "{bad}");
        }
        assert_eq!(
            TablePrefix::new("shop2_").unwrap().table("orders"),
            "shop2_orders"
        );
    }

    #[test]
    fn set_checks_names_types_and_ranges() {
        let mut s = Settings::default();
        assert!(matches!(
            s.set("nope", OptionValue::Int(1)),
            Err(ConfigError::Unknown(_))
        ));
        let e = s
            .set("http_timeout_ms", OptionValue::Str("fast".into()))
            .unwrap_err();
        assert!(e.to_string().contains("http_timeout_ms"));
        assert!(s.set("http_timeout_ms", OptionValue::Int(0)).is_err());
        s.set("http_timeout_ms", OptionValue::Int(2500)).unwrap();
        assert_eq!(s.http_timeout, Duration::from_millis(2500));
        assert!(s.set("table_prefix", OptionValue::Int(3)).is_err());
        assert!(s
            .set("api_base_url", OptionValue::Str("ftp://x".into()))
            .is_err());
        s.set(
            "api_base_url",
            OptionValue::Str("http://127.0.0.1:8080/".into()),
        )
        .unwrap();
        assert_eq!(s.api_base_url, "http://127.0.0.1:8080");
        let before = s.clone();
        assert!(s
            .set("database_url", OptionValue::Str("nope".into()))
            .is_err());
        assert_eq!(s, before, "a refused option changes nothing");
        assert!(s
            .set("invoice_dir", OptionValue::Str("relative/dir".into()))
            .is_err());
        s.set("invoice_dir", OptionValue::Str("/var/cache/inv/".into()))
            .unwrap();
        assert_eq!(s.invoice_dir, std::path::PathBuf::from("/var/cache/inv"));
    }
}
