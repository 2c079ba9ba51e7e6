//! Command-line flags (each with an environment-variable fallback) for the sandbox.

use crate::faults::{FaultRule, FaultSettings};
use std::net::IpAddr;
use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct Config {
    pub host: IpAddr,
    pub spotdraft_port: u16,
    pub crm_port: u16,
    pub seed: u64,
    /// `None` keeps state in memory only.
    pub state_file: Option<PathBuf>,
    /// Start from the seed even if the state file exists (it is then overwritten).
    pub fresh: bool,
    pub local_testing: bool,
    pub download_link_ttl_secs: u64,
    /// Lifetime of Salesforce/Zoho/Pipedrive access tokens (`None`: keep the state's, default 3600).
    pub crm_token_ttl_secs: Option<u64>,
    pub faults: FaultSettings,
}

pub const USAGE: &str = "\
Usage: sandbox [options]        (every option also reads the environment variable shown)

  --host ADDR                  loopback address to bind              SANDBOX_HOST (127.0.0.1)
  --spotdraft-port PORT        SpotDraft API port, 0 = any free one  SANDBOX_SPOTDRAFT_PORT (8790)
  --crm-port PORT              CRM API port, 0 = any free one        SANDBOX_CRM_PORT (8791)
  --seed N                     seed for credentials, keys, faults    SANDBOX_SEED (1)
  --state-file PATH            state file to load and keep updated   SANDBOX_STATE_FILE (sandbox-state.json)
  --no-state-file              keep state in memory only             SANDBOX_NO_STATE_FILE=1
  --fresh                      ignore an existing state file         SANDBOX_FRESH=1
  --local-testing              accept http:// webhook URLs           SANDBOX_LOCAL_TESTING=1
  --download-link-ttl SECS     lifetime of signed download URLs      SANDBOX_DOWNLOAD_LINK_TTL (300)
  --crm-token-ttl SECS         CRM OAuth access-token lifetime       SANDBOX_CRM_TOKEN_TTL (3600)
  --rate-limit                 enforce 10 requests/s per workspace   SANDBOX_RATE_LIMIT=1
  --retry-after SECS           send Retry-After on 429s              SANDBOX_RETRY_AFTER
  --fault SPEC                 inject a fault (repeatable)           SANDBOX_FAULTS (SPECs joined by ';')
                               SPEC = KIND[@RATE][:ROUTE], KIND = 429|500|502|503|reset|slow=MS,
                               ROUTE = glob on \"METHOD /path\" or \"/path\" (default *)
  --fault-seed N               seed for fault decisions              SANDBOX_FAULT_SEED (= --seed)
  --webhook-duplicate-rate R   deliver some webhooks twice           SANDBOX_WEBHOOK_DUPLICATE_RATE
  --webhook-drop-rate R        silently drop some webhooks           SANDBOX_WEBHOOK_DROP_RATE
  --webhook-shuffle            deliver queued webhooks out of order  SANDBOX_WEBHOOK_SHUFFLE=1
  --webhook-delay-ms MS        delay every webhook delivery          SANDBOX_WEBHOOK_DELAY_MS
  --help                       show this help
";

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

fn env_flag(name: &str) -> bool {
    env(name).is_some_and(|value| value != "0" && !value.eq_ignore_ascii_case("false"))
}

fn parse<T: std::str::FromStr>(flag: &str, value: &str) -> Result<T, String> {
    value.parse().map_err(|_| format!("{flag}: cannot parse {value:?}"))
}

/// `KIND[@RATE][:ROUTE]`, e.g. `503@0.2:POST /api/v2.1/public/contracts/` or `slow=1500:/crm/*`.
pub fn parse_fault(spec: &str) -> Result<FaultRule, String> {
    let (head, route) = match spec.split_once(':') {
        Some((head, route)) => (head, route.trim().to_string()),
        None => (spec, "*".to_string()),
    };
    let (kind, rate) = match head.split_once('@') {
        Some((kind, rate)) => (kind.trim(), parse::<f64>("--fault rate", rate.trim())?),
        None => (head.trim(), 1.0),
    };
    let (kind, delay_ms) = match kind.split_once('=') {
        Some(("slow", millis)) => ("slow", Some(parse::<u64>("--fault slow", millis)?)),
        Some(_) => return Err(format!("--fault: only slow takes =MS, got {kind:?}")),
        None => (kind, None),
    };
    Ok(FaultRule { route, service: None, kind: kind.to_string(), rate, times: None, delay_ms })
}

impl Config {
    pub fn from_args(args: &[String]) -> Result<Config, String> {
        let mut config = Config {
            host: parse("SANDBOX_HOST", &env("SANDBOX_HOST").unwrap_or_else(|| "127.0.0.1".into()))?,
            spotdraft_port: parse(
                "SANDBOX_SPOTDRAFT_PORT",
                &env("SANDBOX_SPOTDRAFT_PORT").unwrap_or_else(|| "8790".into()),
            )?,
            crm_port: parse("SANDBOX_CRM_PORT", &env("SANDBOX_CRM_PORT").unwrap_or_else(|| "8791".into()))?,
            seed: parse("SANDBOX_SEED", &env("SANDBOX_SEED").unwrap_or_else(|| "1".into()))?,
            state_file: Some(PathBuf::from(env("SANDBOX_STATE_FILE").unwrap_or_else(|| "sandbox-state.json".into()))),
            fresh: env_flag("SANDBOX_FRESH"),
            local_testing: env_flag("SANDBOX_LOCAL_TESTING"),
            download_link_ttl_secs: parse(
                "SANDBOX_DOWNLOAD_LINK_TTL",
                &env("SANDBOX_DOWNLOAD_LINK_TTL").unwrap_or_else(|| "300".into()),
            )?,
            crm_token_ttl_secs: None,
            faults: FaultSettings::default(),
        };
        if let Some(value) = env("SANDBOX_CRM_TOKEN_TTL") {
            config.crm_token_ttl_secs = Some(parse("SANDBOX_CRM_TOKEN_TTL", &value)?);
        }
        if env_flag("SANDBOX_NO_STATE_FILE") {
            config.state_file = None;
        }
        config.faults.rate_limit = env_flag("SANDBOX_RATE_LIMIT");
        config.faults.shuffle_from_env();
        if let Some(value) = env("SANDBOX_RETRY_AFTER") {
            config.faults.retry_after_seconds = Some(parse("SANDBOX_RETRY_AFTER", &value)?);
        }
        if let Some(specs) = env("SANDBOX_FAULTS") {
            for spec in specs.split(';').filter(|spec| !spec.trim().is_empty()) {
                config.faults.rules.push(parse_fault(spec)?);
            }
        }
        if let Some(value) = env("SANDBOX_FAULT_SEED") {
            config.faults.seed = Some(parse("SANDBOX_FAULT_SEED", &value)?);
        }
        if let Some(value) = env("SANDBOX_WEBHOOK_DUPLICATE_RATE") {
            config.faults.webhooks.duplicate_rate = parse("SANDBOX_WEBHOOK_DUPLICATE_RATE", &value)?;
        }
        if let Some(value) = env("SANDBOX_WEBHOOK_DROP_RATE") {
            config.faults.webhooks.drop_rate = parse("SANDBOX_WEBHOOK_DROP_RATE", &value)?;
        }
        if let Some(value) = env("SANDBOX_WEBHOOK_DELAY_MS") {
            config.faults.webhooks.delay_ms = parse("SANDBOX_WEBHOOK_DELAY_MS", &value)?;
        }
        let mut remaining = args.iter();
        while let Some(flag) = remaining.next() {
            let mut value = || remaining.next().cloned().ok_or_else(|| format!("{flag} needs a value"));
            match flag.as_str() {
                "--host" => config.host = parse(flag, &value()?)?,
                "--spotdraft-port" => config.spotdraft_port = parse(flag, &value()?)?,
                "--crm-port" => config.crm_port = parse(flag, &value()?)?,
                "--seed" => config.seed = parse(flag, &value()?)?,
                "--state-file" => config.state_file = Some(PathBuf::from(value()?)),
                "--no-state-file" => config.state_file = None,
                "--fresh" => config.fresh = true,
                "--local-testing" => config.local_testing = true,
                "--download-link-ttl" => config.download_link_ttl_secs = parse(flag, &value()?)?,
                "--crm-token-ttl" => config.crm_token_ttl_secs = Some(parse(flag, &value()?)?),
                "--rate-limit" => config.faults.rate_limit = true,
                "--retry-after" => config.faults.retry_after_seconds = Some(parse(flag, &value()?)?),
                "--fault" => config.faults.rules.push(parse_fault(&value()?)?),
                "--fault-seed" => config.faults.seed = Some(parse(flag, &value()?)?),
                "--webhook-duplicate-rate" => config.faults.webhooks.duplicate_rate = parse(flag, &value()?)?,
                "--webhook-drop-rate" => config.faults.webhooks.drop_rate = parse(flag, &value()?)?,
                "--webhook-shuffle" => config.faults.webhooks.shuffle = true,
                "--webhook-delay-ms" => config.faults.webhooks.delay_ms = parse(flag, &value()?)?,
                "--help" | "-h" => return Err(String::new()),
                other => return Err(format!("unknown option {other:?}")),
            }
        }
        if !config.host.is_loopback() {
            return Err(format!("--host {} is not a loopback address; the sandbox serves loopback only", config.host));
        }
        config.faults.validate()?;
        Ok(config)
    }
}

impl FaultSettings {
    fn shuffle_from_env(&mut self) {
        self.webhooks.shuffle = env_flag("SANDBOX_WEBHOOK_SHUFFLE");
    }
}
