//! Command line of `shoppingfeed-sim` (parsed by hand: a handful of flags).

use std::net::SocketAddr;

use crate::state::{Latency, Lifecycle, Order, User};
use crate::SimConfig;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CliError {
    #[error("missing value after {0}")]
    MissingValue(String),
    #[error("invalid value for {flag}: {value}")]
    InvalidValue { flag: String, value: String },
    #[error("{0} needs a preceding --token")]
    NoToken(String),
    #[error("--token {0} has no --store")]
    TokenWithoutStore(String),
    #[error("unknown argument {0} (see --help)")]
    Unknown(String),
    #[error("cannot read orders file {path}: {reason}")]
    OrdersFile { path: String, reason: String },
}

/// What the command line asks for.
#[derive(Debug)]
pub enum Command {
    Run(Box<SimConfig>),
    Help,
    Version,
}

pub const USAGE: &str = "\
shoppingfeed-sim: local Shopping Feed API simulator (see docs/simulator.md)

USAGE:
  shoppingfeed-sim --listen 127.0.0.1:PORT --token TOKEN --store STORE_ID [--store ID2] [--token T2 --store S2 ...]

OPTIONS:
  --listen ADDR            address to bind (default 127.0.0.1:0; the bound address is printed first on stdout)
  --token TOKEN            an API token; the following --store flags are the stores it reaches
  --store STORE_ID         a store the preceding --token reaches (repeatable)
  --user LOGIN:PASSWORD    a login for POST /v1/auth answering the preceding --token
  --orders FILE            JSON file of orders to seed (an array, or {\"orders\": [...]})
  --auto-create-orders     unknown orders are created instead of reported `ignored`
  --latency-ms N|MIN-MAX   latency per /v1 request (fixed or uniform range)
  --polls-per-step N       ticket life cycle: one step per N polls (default 1; 0 = terminal at once)
  -h, --help               this text
  -V, --version            the version
";

fn invalid(flag: &str, value: &str) -> CliError {
    CliError::InvalidValue {
        flag: flag.into(),
        value: value.into(),
    }
}

/// Parses the arguments (without the program name).
pub fn parse_args<I: IntoIterator<Item = String>>(args: I) -> Result<Command, CliError> {
    let mut config = SimConfig {
        listen: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
        ..SimConfig::default()
    };
    let mut current_token: Option<String> = None;
    let mut token_has_store = true;
    let mut args = args.into_iter();
    while let Some(flag) = args.next() {
        let mut value = |flag: &str| {
            args.next()
                .ok_or_else(|| CliError::MissingValue(flag.to_string()))
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "-V" | "--version" => return Ok(Command::Version),
            "--listen" => {
                let v = value(&flag)?;
                config.listen = Some(v.parse().map_err(|_| invalid(&flag, &v))?);
            }
            "--token" => {
                if let (Some(t), false) = (&current_token, token_has_store) {
                    return Err(CliError::TokenWithoutStore(t.clone()));
                }
                current_token = Some(value(&flag)?);
                token_has_store = false;
            }
            "--store" => {
                let v = value(&flag)?;
                let store: i64 = v.parse().map_err(|_| invalid(&flag, &v))?;
                let token = current_token
                    .clone()
                    .ok_or_else(|| CliError::NoToken(flag.clone()))?;
                config.accounts.push((token, store));
                token_has_store = true;
            }
            "--user" => {
                let v = value(&flag)?;
                let (login, password) = v.split_once(':').ok_or_else(|| invalid(&flag, &v))?;
                let token = current_token
                    .clone()
                    .ok_or_else(|| CliError::NoToken(flag.clone()))?;
                config.users.push(User {
                    login: login.into(),
                    password: password.into(),
                    token,
                });
            }
            "--orders" => {
                let path = value(&flag)?;
                config.orders.extend(read_orders(&path)?);
            }
            "--auto-create-orders" => config.auto_create_orders = true,
            "--latency-ms" => {
                let v = value(&flag)?;
                config.latency = match v.split_once('-') {
                    Some((a, b)) => Latency::Range {
                        min_ms: a.parse().map_err(|_| invalid(&flag, &v))?,
                        max_ms: b.parse().map_err(|_| invalid(&flag, &v))?,
                    },
                    None => match v.parse().map_err(|_| invalid(&flag, &v))? {
                        0 => Latency::None,
                        ms => Latency::Fixed { ms },
                    },
                };
            }
            "--polls-per-step" => {
                let v = value(&flag)?;
                config.lifecycle = Lifecycle::Polls {
                    polls_per_step: v.parse().map_err(|_| invalid(&flag, &v))?,
                };
            }
            _ => return Err(CliError::Unknown(flag)),
        }
    }
    if let (Some(t), false) = (&current_token, token_has_store) {
        return Err(CliError::TokenWithoutStore(t.clone()));
    }
    Ok(Command::Run(Box::new(config)))
}

fn read_orders(path: &str) -> Result<Vec<Order>, CliError> {
    let err = |reason: String| CliError::OrdersFile {
        path: path.into(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum File {
        List(Vec<Order>),
        Wrapped { orders: Vec<Order> },
    }
    match serde_json::from_str::<File>(&text).map_err(|e| err(e.to_string()))? {
        File::List(l) | File::Wrapped { orders: l } => Ok(l),
    }
}
