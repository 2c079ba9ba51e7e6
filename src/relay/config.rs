//! The relay's configuration: per environment, the plugin configuration plus everything secret
//! (SpotDraft credentials and HMAC key, CRM connection, host secrets) and the webhook URL.
//!
//! UAT and production are separate SpotDraft workspaces; a relay whose environments share a
//! credential, key, secret or URL is refused, because that is how a webhook signed for one ends up
//! writing into the other.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::auth::{PublicKey, PUBLIC_KEY_PROBLEM};
use crate::config::{ApiTarget, Config};
use crate::crm::{CrmAuth, CrmEndpoint, FieldNames, JwtBearerClient, OAuthClient, ZOHO_ACCOUNTS_DOMAINS};
use crate::error::{Error, Problem, Result};
use crate::json_input::{key_path, parse_document, type_name, Checker};
use crate::model::{CrmHost, Environment};
use crate::spotdraft::Credentials;
use crate::url;
use crate::webhook::WebhookKey;

pub struct EnvironmentConfig {
    pub environment: Environment,
    /// The file's plugin block, read. (The one in effect may be a setup an admin saved since:
    /// `super::setup`.)
    pub plugin: Config,
    /// The file's plugin block as written, which a saved setup is merged into.
    pub plugin_document: Value,
    pub spotdraft_base_url: String,
    pub credentials: Credentials,
    pub webhook_key: WebhookKey,
    pub webhook_url: Option<String>,
    pub crm: CrmEndpoint,
    pub crm_fields: FieldNames,
    /// Key pointers written to CRM fields (`crm.keyTerms`, `crate::key_terms`); none by default.
    pub key_terms: Vec<crate::key_terms::KeyTerm>,
    /// The executed contract's signed PDF is attached to the deal, up to this many bytes
    /// (`crm.attachSignedPdf`); off by default.
    pub attach_signed_pdf: Option<usize>,
    /// A note on the deal's timeline per contract activity (`crm.timeline`); off by default.
    pub timeline: bool,
    /// Token secrets per calling host (`demo`, `pipedrive`, `salesforce`, `zoho`): HS256.
    pub host_secrets: BTreeMap<String, Vec<u8>>,
    /// Token public keys per calling host: RS256, for a host that signs with a private key it never
    /// shares (Salesforce's certificate). A host has a secret or a key, never both.
    pub host_keys: BTreeMap<String, PublicKey>,
    /// The HubSpot app's client secret, for `X-HubSpot-Signature-v3`.
    pub hubspot_client_secret: Option<String>,
    /// The HTTP Basic credentials the admin gave Pipedrive's deal webhook (`crmEvents.pipedrive`), for
    /// milestone creation (`crate::crm_events`); HubSpot's events are signed with its client secret,
    /// Salesforce's and Zoho's with their host key or secret.
    pub pipedrive_events: Option<crate::crm_events::BasicCredentials>,
    /// What opens this environment's admin routes (`/admin/{env}/…`, `super::admin`) for an
    /// unnamed admin; with neither this nor `admins`, no admin routes.
    pub admin_secret: Option<String>,
    /// Named admins and each one's own secret (`admins`): the setup history says who saved what.
    pub admins: BTreeMap<String, String>,
    /// Origins a signed download URL may point to: the configured object-storage hosts plus the
    /// SpotDraft API's own origin. A link anywhere else is refused, so the relay never hands a
    /// browser an arbitrary URL (no open redirect through SpotDraft's answers).
    pub download_origins: Vec<String>,
}

/// Where SpotDraft's signed download URLs point when the configuration names nothing else
/// (docs/spotdraft-api.md §10: a temporary signed object-storage URL).
pub const DEFAULT_DOWNLOAD_ORIGINS: [&str; 1] = ["https://storage.googleapis.com"];

pub struct RelayConfig {
    pub environments: Vec<EnvironmentConfig>,
}

impl std::fmt::Debug for EnvironmentConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnvironmentConfig").field("environment", &self.environment).finish_non_exhaustive()
    }
}

impl RelayConfig {
    pub fn parse(text: &str) -> Result<RelayConfig> {
        let value = parse_document(text, "the relay configuration").map_err(|p| Error::InvalidConfig(vec![p]))?;
        RelayConfig::from_json(&value)
    }

    pub fn from_json(value: &Value) -> Result<RelayConfig> {
        let mut check = Checker::default();
        let Some(map) = check.object(value, "") else { return Err(Error::InvalidConfig(check.problems)) };
        check.no_unknown_keys(map, "", &["environments"]);
        let Some(envs) = check.required(map, "", "environments").and_then(|v| check.object(v, "environments")) else {
            return Err(Error::InvalidConfig(check.problems));
        };
        let mut environments = Vec::new();
        for (name, value) in envs {
            let path = key_path("environments", name);
            let Some(environment) = Environment::parse(name) else {
                check.problem(&path, "environments are named uat or production");
                continue;
            };
            if let Some(env) = read_environment(&mut check, environment, value, &path) {
                environments.push(env);
            }
        }
        if envs.is_empty() {
            check.problem("environments", "configure at least one environment");
        }
        if environments.len() == 2 {
            refuse_shared_values(&mut check, envs);
        }
        if check.is_clean() {
            Ok(RelayConfig { environments })
        } else {
            Err(Error::InvalidConfig(check.problems))
        }
    }

    pub fn environment(&self, environment: Environment) -> Option<&EnvironmentConfig> {
        self.environments.iter().find(|e| e.environment == environment)
    }
}

fn read_environment(
    check: &mut Checker,
    environment: Environment,
    value: &Value,
    path: &str,
) -> Option<EnvironmentConfig> {
    let map = check.object(value, path)?;
    check.no_unknown_keys(
        map,
        path,
        &[
            "plugin",
            "spotdraft",
            "crm",
            "webhookUrl",
            "hostSecrets",
            "hostKeys",
            "hubspotClientSecret",
            "crmEvents",
            "adminSecret",
            "admins",
        ],
    );
    let plugin = check.required(map, path, "plugin").and_then(|v| match Config::from_json(v) {
        Ok(config) => Some(config),
        Err(error) => {
            for problem in error.problems() {
                check.problem(key_path(&key_path(path, "plugin"), &problem.path), problem.message.clone());
            }
            None
        }
    });
    if let Some(plugin) = &plugin {
        if plugin.environment != environment {
            check.problem(
                key_path(path, "plugin.environment"),
                format!("must be \"{}\" in this environment's block", environment.as_str()),
            );
        }
    }
    let spotdraft_path = key_path(path, "spotdraft");
    let spotdraft = check.required(map, path, "spotdraft").and_then(|v| check.object(v, &spotdraft_path));
    let (credentials, webhook_key, base_override, mut download_origins) = match spotdraft {
        Some(sd) => {
            check.no_unknown_keys(
                sd,
                &spotdraft_path,
                &["clientId", "clientSecret", "userEmail", "hmacKey", "baseUrl", "downloadOrigins"],
            );
            let client_id = check.required_text(sd, &spotdraft_path, "clientId", 200);
            let client_secret = check.required_text(sd, &spotdraft_path, "clientSecret", 500);
            let user_email = check.optional_text(sd, &spotdraft_path, "userEmail", 254);
            let key =
                check.required_text(sd, &spotdraft_path, "hmacKey", 500).and_then(
                    |text| match WebhookKey::from_base64(&text) {
                        Ok(key) => Some(key),
                        Err(error) => {
                            check.problem(
                                key_path(&spotdraft_path, "hmacKey"),
                                error.problems().first().map(|p| p.message.clone()).unwrap_or_default(),
                            );
                            None
                        }
                    },
                );
            let base = check.optional_text(sd, &spotdraft_path, "baseUrl", 2048);
            let credentials = match (client_id, client_secret) {
                (Some(client_id), Some(client_secret)) => Some(Credentials { client_id, client_secret, user_email }),
                _ => None,
            };
            let origins = read_download_origins(check, sd, &key_path(&spotdraft_path, "downloadOrigins"));
            (credentials, key, base, origins)
        }
        None => (None, None, None, Vec::new()),
    };
    let spotdraft_base_url = match (&base_override, plugin.as_ref().map(|p| &p.api)) {
        (Some(base), _) => secure(check, base, &key_path(&spotdraft_path, "baseUrl")),
        (None, Some(ApiTarget::SpotDraft { base_url, .. })) => Some(base_url.clone()),
        (None, Some(ApiTarget::Relay { .. })) => {
            check.problem(
                key_path(path, "plugin.api"),
                "the relay talks to SpotDraft: give region or baseUrl here (relayUrl is for sidebars)",
            );
            None
        }
        (None, None) => None,
    };
    // The API's own origin serves files too (the sandbox does; SpotDraft's `download` route is on it).
    if let Some(origin) = spotdraft_base_url.as_deref().and_then(url::parse_origin_of) {
        if !download_origins.contains(&origin) {
            download_origins.push(origin);
        }
    }
    let crm_path = key_path(path, "crm");
    let section = match check.required(map, path, "crm").and_then(|v| check.object(v, &crm_path)) {
        Some(crm) => read_crm(check, crm, &crm_path, plugin.as_ref()),
        None => CrmSection::default(),
    };
    let webhook_url = check.optional_text(map, path, "webhookUrl", 2048);
    if let Some(url) = &webhook_url {
        if url::parse(url).is_none_or(|u| u.scheme != "https" && !u.is_loopback()) {
            check.problem(key_path(path, "webhookUrl"), "SpotDraft delivers only to https URLs");
        }
    }
    let host_secrets = read_host_secrets(check, map, path);
    let host_keys = read_host_keys(check, map, path, &host_secrets);
    let hubspot_client_secret = check.optional_text(map, path, "hubspotClientSecret", 500);
    let pipedrive_events = read_crm_events(check, map, path);
    let admin_secret = check.optional_text(map, path, "adminSecret", 500);
    if admin_secret.as_ref().is_some_and(|secret| secret.trim().len() < 32) {
        check.problem(key_path(path, "adminSecret"), "must be at least 32 characters");
    }
    let admins = read_admins(check, map, path, admin_secret.as_deref());
    Some(EnvironmentConfig {
        environment,
        plugin: plugin?,
        plugin_document: map.get("plugin").cloned().unwrap_or(Value::Null),
        spotdraft_base_url: spotdraft_base_url?,
        credentials: credentials?,
        webhook_key: webhook_key?,
        webhook_url,
        crm: section.endpoint?,
        crm_fields: section.fields?,
        key_terms: section.key_terms?,
        attach_signed_pdf: section.attach_signed_pdf,
        timeline: section.timeline,
        host_secrets,
        host_keys,
        hubspot_client_secret,
        pipedrive_events,
        admin_secret,
        admins,
        download_origins,
    })
}

/// `admins`: `{"<name or email>": "<that admin's secret, 32+ characters>"}`, each secret distinct.
fn read_admins(
    check: &mut Checker,
    map: &Map<String, Value>,
    path: &str,
    admin_secret: Option<&str>,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let admins_path = key_path(path, "admins");
    let Some(admins) = map.get("admins") else { return out };
    let Some(admins) = check.object(admins, &admins_path) else { return out };
    for (name, secret) in admins {
        let secret_path = key_path(&admins_path, name);
        let name = name.trim();
        if name.is_empty() || name.len() > 254 || name.chars().any(char::is_control) {
            check.problem(&secret_path, "an admin is named by a name or email of 1 to 254 characters");
            continue;
        }
        match secret.as_str().map(str::trim) {
            Some(secret) if secret.len() >= 32 && secret.len() <= 500 => {
                let shared = admin_secret.is_some_and(|s| s.trim() == secret) || out.values().any(|s| s == secret);
                if shared {
                    check.problem(&secret_path, "each admin needs a secret of their own (this one is used twice)");
                } else {
                    out.insert(name.to_string(), secret.to_string());
                }
            }
            Some(_) => check.problem(&secret_path, "must be 32 to 500 characters"),
            None => {
                check.problem(&secret_path, format!("must be the admin's secret as text; found {}", type_name(secret)))
            }
        }
    }
    out
}

/// `crmEvents`: `{"pipedrive": {"username", "password"}}`, the credentials the admin sets on
/// Pipedrive's deal webhook. The other CRMs' calls are verified with what is configured already.
fn read_crm_events(
    check: &mut Checker,
    map: &Map<String, Value>,
    path: &str,
) -> Option<crate::crm_events::BasicCredentials> {
    let events_path = key_path(path, "crmEvents");
    let events = check.object(map.get("crmEvents")?, &events_path)?;
    check.no_unknown_keys(events, &events_path, &["pipedrive"]);
    let pipedrive_path = key_path(&events_path, "pipedrive");
    let pipedrive = check.object(events.get("pipedrive")?, &pipedrive_path)?;
    check.no_unknown_keys(pipedrive, &pipedrive_path, &["username", "password"]);
    let username = check.required_text(pipedrive, &pipedrive_path, "username", 200);
    let password = check.required_text(pipedrive, &pipedrive_path, "password", 500);
    if let Some(name) = &username {
        if name.is_empty() || name.contains(':') {
            check.problem(key_path(&pipedrive_path, "username"), "must be a non-empty name without ':' (HTTP Basic)");
        }
    }
    if password.as_ref().is_some_and(|p| p.len() < 24) {
        check.problem(
            key_path(&pipedrive_path, "password"),
            "must be at least 24 characters: it is all that proves a call is Pipedrive's",
        );
    }
    Some(crate::crm_events::BasicCredentials { username: username?, password: password? })
}

fn read_download_origins(check: &mut Checker, map: &Map<String, Value>, path: &str) -> Vec<String> {
    let Some(value) = map.get("downloadOrigins") else {
        return DEFAULT_DOWNLOAD_ORIGINS.iter().map(|o| (*o).to_string()).collect();
    };
    let Some(list) = check.text_list(value, path, 300) else { return Vec::new() };
    let mut origins = Vec::new();
    for (i, text) in list.iter().enumerate() {
        match url::parse_origin(text) {
            Some(origin) => origins.push(origin),
            None => check.problem(
                crate::json_input::index_path(path, i),
                format!("must be an origin such as https://storage.googleapis.com (no path; http only on loopback); found \"{text}\""),
            ),
        }
    }
    origins
}

fn secure(check: &mut Checker, text: &str, path: &str) -> Option<String> {
    match url::parse(text) {
        Some(u) if url::is_secure_or_loopback(&u) => Some(text.trim_end_matches('/').to_string()),
        _ => {
            check.problem(path, "must be an https URL (http only on loopback)");
            None
        }
    }
}

/// What the `crm` block configures (each part `None` when it has a problem).
#[derive(Default)]
struct CrmSection {
    endpoint: Option<CrmEndpoint>,
    fields: Option<FieldNames>,
    key_terms: Option<Vec<crate::key_terms::KeyTerm>>,
    attach_signed_pdf: Option<usize>,
    timeline: bool,
}

/// The most `attachSignedPdf.maxBytes` may say: Zoho CRM's documented attachment limit.
const MAX_ATTACH_BYTES: u64 = 100 * 1024 * 1024;

/// `attachSignedPdf`: `true` (the default limit), `false`/absent (off) or `{"maxBytes": n}`.
fn read_attach(check: &mut Checker, map: &Map<String, Value>, path: &str) -> Option<usize> {
    let default = crate::crm::record_files::DEFAULT_MAX_BYTES;
    let path = key_path(path, "attachSignedPdf");
    match map.get("attachSignedPdf") {
        None | Some(Value::Null) | Some(Value::Bool(false)) => None,
        Some(Value::Bool(true)) => Some(default),
        Some(Value::Object(options)) => {
            check.no_unknown_keys(options, &path, &["maxBytes"]);
            match options.get("maxBytes") {
                None => Some(default),
                Some(value) => match value.as_u64() {
                    Some(n) if (1..=MAX_ATTACH_BYTES).contains(&n) => usize::try_from(n).ok(),
                    _ => {
                        check.problem(
                            key_path(&path, "maxBytes"),
                            format!("must be a whole number of bytes from 1 to {MAX_ATTACH_BYTES}"),
                        );
                        None
                    }
                },
            }
        }
        Some(other) => {
            check.problem(path, format!("must be true, false or {{\"maxBytes\": n}}; found {}", type_name(other)));
            None
        }
    }
}

fn read_crm(check: &mut Checker, map: &Map<String, Value>, path: &str, plugin: Option<&Config>) -> CrmSection {
    check.no_unknown_keys(
        map,
        path,
        &["baseUrl", "token", "oauth", "fields", "timeoutMs", "keyTerms", "attachSignedPdf", "timeline"],
    );
    let attach_signed_pdf = read_attach(check, map, path);
    let timeline = match map.get("timeline") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(on)) => *on,
        Some(other) => {
            check.problem(key_path(path, "timeline"), format!("must be true or false; found {}", type_name(other)));
            false
        }
    };
    let base_url =
        check.required_text(map, path, "baseUrl", 2048).and_then(|u| secure(check, &u, &key_path(path, "baseUrl")));
    let token = match (map.get("token"), map.get("oauth")) {
        (Some(_), Some(_)) => {
            check.problem(key_path(path, "oauth"), "give either token or oauth, not both");
            None
        }
        (None, Some(oauth)) => plugin.and_then(|p| read_oauth(check, oauth, &key_path(path, "oauth"), p.crm.host)),
        (Some(_), None) => check.required_text(map, path, "token", 4096).map(CrmAuth::from),
        (None, None) => {
            check.problem(
                key_path(path, "token"),
                "give a token (HubSpot private app, Pipedrive API token) or an oauth block (clientId, clientSecret, refreshToken; or for Salesforce clientId, username, privateKeyPem)",
            );
            None
        }
    };
    let timeout_ms = map.get("timeoutMs").and_then(Value::as_u64).unwrap_or(10_000);
    let fields = match map.get("fields") {
        None | Some(Value::Null) => Some(FieldNames::hubspot_defaults()),
        Some(value) => match FieldNames::from_json(value, &key_path(path, "fields")) {
            Ok(names) => Some(names),
            Err(error) => {
                for problem in error.problems() {
                    check.problem(problem.path.clone(), problem.message.clone());
                }
                None
            }
        },
    };
    let endpoint = match (plugin, base_url, token) {
        (Some(plugin), Some(base_url), Some(token)) => {
            Some(CrmEndpoint { host: plugin.crm.host, base_url, token, timeout_ms })
        }
        _ => None,
    };
    let key_terms = match map.get("keyTerms") {
        None | Some(Value::Null) => Some(Vec::new()),
        Some(value) => crate::key_terms::read(check, value, &key_path(path, "keyTerms")).inspect(|terms| {
            let names = fields.as_ref();
            for term in terms {
                let clash = names.is_some_and(|n| {
                    [&n.contract_id, &n.status, &n.status_at, &n.link, &n.executed_at].contains(&&term.field)
                });
                if clash {
                    check.problem(
                        key_path(path, "keyTerms"),
                        format!(
                            "{} is one of the contract fields (crm.fields); give the key term its own field",
                            term.field
                        ),
                    );
                }
            }
        }),
    };
    CrmSection { endpoint, fields, key_terms, attach_signed_pdf, timeline }
}

/// `{"clientId", "clientSecret", "refreshToken", "tokenUrl"?, "accountsDomain"?}`: the token endpoint is
/// `tokenUrl`, else (Zoho) `accountsDomain` + `/oauth/v2/token`, else the CRM's default. Salesforce
/// may instead give `{"clientId", "username", "privateKeyPem", "audience"?, "tokenUrl"?}` (the JWT
/// bearer grant): exactly one of `refreshToken` and `privateKeyPem`.
fn read_oauth(check: &mut Checker, value: &Value, path: &str, host: CrmHost) -> Option<CrmAuth> {
    let map = check.object(value, path)?;
    check.no_unknown_keys(
        map,
        path,
        &[
            "clientId",
            "clientSecret",
            "refreshToken",
            "tokenUrl",
            "accountsDomain",
            "username",
            "privateKeyPem",
            "audience",
        ],
    );
    match (map.contains_key("refreshToken"), map.contains_key("privateKeyPem")) {
        (true, true) => {
            check.problem(key_path(path, "privateKeyPem"), "give either refreshToken or privateKeyPem, not both");
            return None;
        }
        (false, true) => return read_jwt_bearer(check, map, path, host),
        _ => {}
    }
    for key in ["username", "audience"] {
        if map.contains_key(key) {
            check.problem(key_path(path, key), "is used only with privateKeyPem (Salesforce's JWT bearer grant)");
        }
    }
    let client_id = check.required_text(map, path, "clientId", 500);
    let client_secret = check.required_text(map, path, "clientSecret", 1000);
    let refresh_token = check.required_text(map, path, "refreshToken", 4096);
    let token_url = check.optional_text(map, path, "tokenUrl", 2048);
    let accounts_domain = check.optional_text(map, path, "accountsDomain", 300);
    let token_url = match (token_url, accounts_domain) {
        (Some(_), Some(_)) => {
            check.problem(key_path(path, "accountsDomain"), "give either tokenUrl or accountsDomain, not both");
            None
        }
        (Some(url), None) => secure(check, &url, &key_path(path, "tokenUrl")),
        (None, Some(domain)) => {
            let domain = domain.trim_end_matches('/').to_string();
            let loopback = url::parse(&domain).is_some_and(|u| u.is_loopback());
            if host != CrmHost::Zoho {
                check.problem(key_path(path, "accountsDomain"), "only Zoho CRM has accounts domains; give tokenUrl");
                None
            } else if ZOHO_ACCOUNTS_DOMAINS.contains(&domain.as_str()) || loopback {
                Some(format!("{domain}/oauth/v2/token"))
            } else {
                check.problem(
                    key_path(path, "accountsDomain"),
                    format!(
                        "must be your data centre's Zoho accounts domain, one of {}",
                        ZOHO_ACCOUNTS_DOMAINS.join(", ")
                    ),
                );
                None
            }
        }
        (None, None) => match OAuthClient::default_token_url(host) {
            Some(url) => Some(url.to_string()),
            None => {
                check.problem(
                    key_path(path, "accountsDomain"),
                    "Zoho CRM needs the data centre's accounts domain, e.g. https://accounts.zoho.eu",
                );
                None
            }
        },
    };
    Some(CrmAuth::oauth(OAuthClient {
        client_id: client_id?,
        client_secret: client_secret?,
        refresh_token: refresh_token?,
        token_url: token_url?,
    }))
}

/// Salesforce's JWT bearer grant: the connected app's consumer key, the integration user's username
/// and the private key of the app's certificate, parsed here once. A bad key is reported by its path,
/// never quoted.
fn read_jwt_bearer(check: &mut Checker, map: &Map<String, Value>, path: &str, host: CrmHost) -> Option<CrmAuth> {
    let key_at = key_path(path, "privateKeyPem");
    if host != CrmHost::Salesforce {
        check.problem(&key_at, "only Salesforce connects with a certificate (JWT bearer); give refreshToken");
        return None;
    }
    for key in ["clientSecret", "accountsDomain"] {
        if map.contains_key(key) {
            check.problem(
                key_path(path, key),
                "is not used with privateKeyPem (the JWT bearer grant signs with the key)",
            );
        }
    }
    let client_id = check.required_text(map, path, "clientId", 500);
    let username = check.required_text(map, path, "username", 320);
    let audience =
        check.optional_text(map, path, "audience", 2048).and_then(|a| secure(check, &a, &key_path(path, "audience")));
    let token_url = match check.optional_text(map, path, "tokenUrl", 2048) {
        Some(url) => secure(check, &url, &key_path(path, "tokenUrl")),
        None => OAuthClient::default_token_url(host).map(str::to_string),
    };
    let pem = match map.get("privateKeyPem") {
        Some(Value::String(pem)) if pem.len() <= 16 * 1024 => Some(pem.as_str()),
        Some(Value::String(_)) => {
            check.problem(&key_at, "is longer than 16384 characters");
            None
        }
        Some(other) => {
            check
                .problem(&key_at, format!("expected a string (the PEM text, or env:NAME), found {}", type_name(other)));
            None
        }
        None => None,
    };
    let (client_id, username, token_url, pem) = (client_id?, username?, token_url?, pem?);
    match JwtBearerClient::new(&client_id, &username, pem, &token_url, audience.as_deref()) {
        Ok(client) => Some(CrmAuth::jwt_bearer(client)),
        Err(problem) => {
            check.problem(&key_at, problem);
            None
        }
    }
}

fn read_host_secrets(check: &mut Checker, map: &Map<String, Value>, path: &str) -> BTreeMap<String, Vec<u8>> {
    let secrets_path = key_path(path, "hostSecrets");
    let mut out = BTreeMap::new();
    let Some(value) = map.get("hostSecrets") else { return out };
    let Some(secrets) = check.object(value, &secrets_path) else { return out };
    for (host, secret) in secrets {
        let secret_path = key_path(&secrets_path, host);
        if !["demo", "hubspot", "salesforce", "zoho", "pipedrive"].contains(&host.as_str()) {
            check.problem(&secret_path, "hosts are demo, hubspot, salesforce, zoho or pipedrive");
            continue;
        }
        match check.text(secret, &secret_path, 4096) {
            Some(text) if text.len() >= 32 => {
                out.insert(host.clone(), text.into_bytes());
            }
            Some(_) => check.problem(&secret_path, "must be at least 32 characters"),
            None => {}
        }
    }
    out
}

fn read_host_keys(
    check: &mut Checker,
    map: &Map<String, Value>,
    path: &str,
    secrets: &BTreeMap<String, Vec<u8>>,
) -> BTreeMap<String, PublicKey> {
    let keys_path = key_path(path, "hostKeys");
    let mut out = BTreeMap::new();
    let Some(value) = map.get("hostKeys") else { return out };
    let Some(keys) = check.object(value, &keys_path) else { return out };
    for (host, pem) in keys {
        let key_path = key_path(&keys_path, host);
        if !["demo", "salesforce", "zoho"].contains(&host.as_str()) {
            check.problem(&key_path, "hosts that sign with a key are demo, salesforce or zoho");
            continue;
        }
        if secrets.contains_key(host) {
            check.problem(
                &key_path,
                format!(
                    "{host} also has hostSecrets.{host}: a host's tokens are verified one way, so set one of the two"
                ),
            );
            continue;
        }
        // PEM spans lines, so not `check.text`, which refuses control characters.
        match pem.as_str().filter(|pem| pem.len() <= 16_384).map(PublicKey::from_pem) {
            Some(Ok(key)) => {
                out.insert(host.clone(), key);
            }
            Some(Err(problem)) => check.problem(&key_path, problem),
            None => check.problem(&key_path, PUBLIC_KEY_PROBLEM),
        }
    }
    out
}

/// Every secret, key and URL of one environment, by a label for the message.
fn sensitive_values(env: &Map<String, Value>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut add = |label: &str, value: Option<&Value>| {
        if let Some(text) = value.and_then(Value::as_str) {
            out.push((label.to_string(), text.trim().to_string()));
        }
    };
    let sd = env.get("spotdraft");
    add("spotdraft.clientId", sd.and_then(|s| s.get("clientId")));
    add("spotdraft.clientSecret", sd.and_then(|s| s.get("clientSecret")));
    add("spotdraft.hmacKey", sd.and_then(|s| s.get("hmacKey")));
    add("crm.token", env.get("crm").and_then(|c| c.get("token")));
    let oauth = env.get("crm").and_then(|c| c.get("oauth"));
    add("crm.oauth.clientSecret", oauth.and_then(|o| o.get("clientSecret")));
    add("crm.oauth.refreshToken", oauth.and_then(|o| o.get("refreshToken")));
    add("webhookUrl", env.get("webhookUrl"));
    add("hubspotClientSecret", env.get("hubspotClientSecret"));
    add("adminSecret", env.get("adminSecret"));
    if let Some(Value::Object(admins)) = env.get("admins") {
        for (name, secret) in admins {
            add(&format!("admins.{name}"), Some(secret));
        }
    }
    add(
        "crmEvents.pipedrive.password",
        env.get("crmEvents").and_then(|e| e.get("pipedrive")).and_then(|p| p.get("password")),
    );
    if let Some(Value::Object(secrets)) = env.get("hostSecrets") {
        for (host, secret) in secrets {
            add(&format!("hostSecrets.{host}"), Some(secret));
        }
    }
    // A public key is no secret, but an environment must not trust the other's signer.
    if let Some(Value::Object(keys)) = env.get("hostKeys") {
        for (host, pem) in keys {
            if let Some(key) = pem.as_str().and_then(|pem| PublicKey::from_pem(pem).ok()) {
                let fingerprint: String = key.fingerprint().iter().map(|b| format!("{b:02x}")).collect();
                out.push((format!("hostKeys.{host}"), format!("rsa-public-key:{fingerprint}")));
            }
        }
    }
    // Compared as the key it holds, whichever PEM form each environment writes it in.
    if let Some(pem) = oauth.and_then(|o| o.get("privateKeyPem")).and_then(Value::as_str) {
        if let Some(fingerprint) = crate::crm::private_key_fingerprint(pem) {
            out.push(("crm.oauth.privateKeyPem".to_string(), format!("rsa-key:{fingerprint}")));
        }
    }
    out
}

fn refuse_shared_values(check: &mut Checker, envs: &Map<String, Value>) {
    let (Some(Value::Object(uat)), Some(Value::Object(production))) = (envs.get("uat"), envs.get("production")) else {
        return;
    };
    let production_values = sensitive_values(production);
    for (label, value) in sensitive_values(uat) {
        if let Some((other, _)) = production_values.iter().find(|(_, v)| *v == value) {
            check.problems.push(Problem::new(
                format!("environments.production.{other}"),
                format!("is the same as environments.uat.{label}: UAT and production must not share credentials, keys or URLs"),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn document(spotdraft_extra: Value) -> Value {
        let mut spotdraft = json!({"clientId": "a", "clientSecret": "b",
            "hmacKey": "zJDCvFUXhByUkPcQIzf+dt2W7bqm6x6Fb2o/gLhfUgXyPqvPcrZ6P9yYtoUrI4dErHzq2t+4gjZ4zH2btdpoSA=="});
        if let (Some(target), Value::Object(extra)) = (spotdraft.as_object_mut(), spotdraft_extra) {
            target.extend(extra);
        }
        json!({"environments": {"uat": {
            "plugin": {"environment": "uat", "crm": {"host": "hubspot", "accountId": "42"}, "api": {"region": "eu"},
                "creationStages": ["contractsent"], "templates": [{"templateId": 1, "label": "NDA", "contractTypeId": 2, "fields": []}]},
            "spotdraft": spotdraft,
            "crm": {"baseUrl": "https://api.hubapi.com", "token": "t"}}}})
    }

    fn with_crm(host: &str, crm: Value) -> Value {
        let mut doc = document(json!({}));
        doc["environments"]["uat"]["plugin"]["crm"]["host"] = json!(host);
        doc["environments"]["uat"]["crm"] = crm;
        doc
    }

    #[test]
    fn crm_connections_take_a_token_or_an_oauth_client() {
        let oauth = json!({"clientId": "id", "clientSecret": "secret", "refreshToken": "refresh"});
        let config = RelayConfig::from_json(&with_crm(
            "salesforce",
            json!({"baseUrl": "https://acme.my.salesforce.com", "oauth": oauth}),
        ))
        .unwrap();
        let crm = &config.environment(Environment::Uat).unwrap().crm;
        assert!(crm.token.is_oauth());
        assert!(!format!("{crm:?}").contains("secret"));
        let zoho = RelayConfig::from_json(&with_crm(
            "zoho",
            json!({"baseUrl": "https://www.zohoapis.eu", "oauth": {"clientId": "id", "clientSecret": "s", "refreshToken": "r", "accountsDomain": "https://accounts.zoho.eu"}}),
        ));
        assert!(zoho.is_ok());
        let problems = |doc: Value| -> Vec<String> {
            match RelayConfig::from_json(&doc) {
                Ok(_) => Vec::new(),
                Err(error) => error.problems().iter().map(|p| format!("{}: {}", p.path, p.message)).collect(),
            }
        };
        let zoho_without_domain =
            problems(with_crm("zoho", json!({"baseUrl": "https://www.zohoapis.eu", "oauth": oauth})));
        assert!(
            zoho_without_domain[0].starts_with("environments.uat.crm.oauth.accountsDomain"),
            "{zoho_without_domain:?}"
        );
        let foreign = problems(with_crm(
            "zoho",
            json!({"baseUrl": "https://www.zohoapis.eu", "oauth": {"clientId": "id", "clientSecret": "s", "refreshToken": "r", "accountsDomain": "https://accounts.example.com"}}),
        ));
        assert_eq!(foreign.len(), 1, "{foreign:?}");
        let both =
            problems(with_crm("hubspot", json!({"baseUrl": "https://api.hubapi.com", "token": "t", "oauth": oauth})));
        assert_eq!(both, ["environments.uat.crm.oauth: give either token or oauth, not both"]);
        let neither = problems(with_crm("hubspot", json!({"baseUrl": "https://api.hubapi.com"})));
        assert!(neither[0].starts_with("environments.uat.crm.token"), "{neither:?}");
        let missing = problems(with_crm(
            "pipedrive",
            json!({"baseUrl": "https://acme.pipedrive.com", "oauth": {"clientId": "id"}}),
        ));
        assert_eq!(missing.len(), 2, "{missing:?}");
    }

    #[test]
    #[cfg(feature = "full")]
    fn a_host_signs_with_a_secret_or_a_public_key_never_both_and_never_the_other_environments() {
        const CERTIFICATE: &str = include_str!("../../sandbox/keys/salesforce-jwt-test.cert.pem");
        const PUBLIC_KEY: &str = include_str!("../../sandbox/keys/salesforce-jwt-test.pub.pem");
        let problems = |doc: Value| -> Vec<String> {
            match RelayConfig::from_json(&doc) {
                Ok(_) => Vec::new(),
                Err(error) => error.problems().iter().map(|p| format!("{}: {}", p.path, p.message)).collect(),
            }
        };
        let mut doc = document(json!({}));
        doc["environments"]["uat"]["hostKeys"] = json!({"salesforce": CERTIFICATE});
        let config = RelayConfig::from_json(&doc).unwrap();
        assert!(config.environment(Environment::Uat).unwrap().host_keys.contains_key("salesforce"));

        doc["environments"]["uat"]["hostSecrets"] = json!({"salesforce": "s".repeat(40)});
        doc["environments"]["uat"]["hostKeys"] =
            json!({"salesforce": CERTIFICATE, "pipedrive": PUBLIC_KEY, "zoho": "nonsense"});
        assert_eq!(
            problems(doc.clone()),
            [
                "environments.uat.hostKeys.pipedrive: hosts that sign with a key are demo, salesforce or zoho",
                "environments.uat.hostKeys.salesforce: salesforce also has hostSecrets.salesforce: a host's tokens are verified one way, so set one of the two",
                format!("environments.uat.hostKeys.zoho: {}", crate::auth::PUBLIC_KEY_PROBLEM).as_str(),
            ]
        );

        // The same key trusted by UAT and production (here one as its certificate, one as its key).
        let mut shared = document(json!({}));
        shared["environments"]["uat"]["hostKeys"] = json!({"salesforce": CERTIFICATE});
        let mut production = shared["environments"]["uat"].clone();
        production["plugin"]["environment"] = json!("production");
        production["spotdraft"] = json!({"clientId": "p", "clientSecret": "q",
            "hmacKey": "aJDCvFUXhByUkPcQIzf+dt2W7bqm6x6Fb2o/gLhfUgXyPqvPcrZ6P9yYtoUrI4dErHzq2t+4gjZ4zH2btdpoSA=="});
        production["crm"]["token"] = json!("production-token");
        production["hostKeys"] = json!({"salesforce": PUBLIC_KEY});
        shared["environments"]["production"] = production;
        let found = problems(shared);
        assert!(
            found.iter().any(|p| p.starts_with(
                "environments.production.hostKeys.salesforce: is the same as environments.uat.hostKeys.salesforce"
            )),
            "{found:?}"
        );
    }

    #[test]
    #[cfg(feature = "full")]
    fn salesforce_connects_with_a_certificate_instead_of_a_refresh_token() {
        const KEY: &str = include_str!("../../sandbox/keys/salesforce-jwt-test.key.pem");
        let problems = |doc: Value| -> Vec<String> {
            match RelayConfig::from_json(&doc) {
                Ok(_) => Vec::new(),
                Err(error) => error.problems().iter().map(|p| format!("{}: {}", p.path, p.message)).collect(),
            }
        };
        let jwt = |extra: Value| {
            let mut oauth =
                json!({"clientId": "3MVG9key", "username": "integration@acme.example", "privateKeyPem": KEY});
            if let (Some(target), Value::Object(extra)) = (oauth.as_object_mut(), extra) {
                target.extend(extra);
            }
            with_crm("salesforce", json!({"baseUrl": "https://acme.my.salesforce.com", "oauth": oauth}))
        };
        let config = RelayConfig::from_json(&jwt(json!({}))).unwrap();
        let crm = &config.environment(Environment::Uat).unwrap().crm;
        assert!(crm.token.is_oauth());
        let shown = format!("{crm:?} {:?}", crm.token);
        assert!(shown.contains("CrmAuth::JwtBearer(JwtBearerClient { client_id: \"3MVG9key\""), "{shown}");
        assert!(!shown.contains("BEGIN") && !shown.contains(&KEY[40..80]), "{shown}");

        assert!(problems(jwt(json!({"audience": "https://test.salesforce.com", "tokenUrl": "https://test.salesforce.com/services/oauth2/token"}))).is_empty());
        assert_eq!(
            problems(jwt(json!({"refreshToken": "r"}))),
            ["environments.uat.crm.oauth.privateKeyPem: give either refreshToken or privateKeyPem, not both"]
        );
        let missing = problems(jwt(json!({"username": null})));
        assert!(missing[0].starts_with("environments.uat.crm.oauth.username"), "{missing:?}");
        assert_eq!(
            problems(jwt(json!({"clientSecret": "s"}))),
            ["environments.uat.crm.oauth.clientSecret: is not used with privateKeyPem (the JWT bearer grant signs with the key)"]
        );
        // A broken key is named by its path and never quoted.
        let broken = KEY.replace("MII", "MIX");
        let bad = problems(jwt(json!({"privateKeyPem": broken})));
        assert_eq!(bad.len(), 1, "{bad:?}");
        assert!(bad[0].starts_with("environments.uat.crm.oauth.privateKeyPem: must be an unencrypted RSA private key"));
        assert!(!bad[0].contains(&KEY[40..80]));
        let zoho = problems(with_crm(
            "zoho",
            json!({"baseUrl": "https://www.zohoapis.eu", "oauth": {"clientId": "id", "username": "u", "privateKeyPem": KEY, "accountsDomain": "https://accounts.zoho.eu"}}),
        ));
        assert_eq!(
            zoho,
            ["environments.uat.crm.oauth.privateKeyPem: only Salesforce connects with a certificate (JWT bearer); give refreshToken"]
        );
        let stray = problems(with_crm(
            "salesforce",
            json!({"baseUrl": "https://acme.my.salesforce.com", "oauth": {"clientId": "id", "clientSecret": "s", "refreshToken": "r", "username": "u"}}),
        ));
        assert_eq!(
            stray,
            ["environments.uat.crm.oauth.username: is used only with privateKeyPem (Salesforce's JWT bearer grant)"]
        );
    }

    #[test]
    #[cfg(feature = "full")]
    fn uat_and_production_may_not_share_a_private_key_in_any_form() {
        use rsa::pkcs1::EncodeRsaPrivateKey;
        use rsa::pkcs8::DecodePrivateKey;
        const KEY: &str = include_str!("../../sandbox/keys/salesforce-jwt-test.key.pem");
        let pkcs1 =
            rsa::RsaPrivateKey::from_pkcs8_pem(KEY).unwrap().to_pkcs1_pem(rsa::pkcs8::LineEnding::CRLF).unwrap();
        let oauth =
            |pem: &str| json!({"clientId": "3MVG9key", "username": "integration@acme.example", "privateKeyPem": pem});
        let mut doc = with_crm("salesforce", json!({"baseUrl": "https://acme.my.salesforce.com", "oauth": oauth(KEY)}));
        let mut production = doc["environments"]["uat"].clone();
        production["plugin"]["environment"] = json!("production");
        production["crm"]["oauth"] = oauth(pkcs1.as_str());
        doc["environments"]["production"] = production;
        let Err(error) = RelayConfig::from_json(&doc) else { panic!("a shared key must be refused") };
        let shared: Vec<String> = error
            .problems()
            .iter()
            .filter(|p| p.path.contains("privateKeyPem"))
            .map(|p| format!("{}: {}", p.path, p.message))
            .collect();
        assert_eq!(
            shared,
            ["environments.production.crm.oauth.privateKeyPem: is the same as environments.uat.crm.oauth.privateKeyPem: UAT and production must not share credentials, keys or URLs"]
        );
    }

    #[test]
    fn download_origins_default_to_object_storage_plus_the_api_origin() {
        let config = RelayConfig::from_json(&document(json!({}))).unwrap();
        let env = config.environment(Environment::Uat).unwrap();
        assert_eq!(env.download_origins, vec!["https://storage.googleapis.com", "https://api.eu.spotdraft.com"]);
    }

    #[test]
    fn download_origins_are_origins_over_https() {
        let config =
            RelayConfig::from_json(&document(json!({"downloadOrigins": ["https://files.example.com/"]}))).unwrap();
        let env = config.environment(Environment::Uat).unwrap();
        assert_eq!(env.download_origins, vec!["https://files.example.com", "https://api.eu.spotdraft.com"]);
        let Err(error) = RelayConfig::from_json(&document(
            json!({"downloadOrigins": ["http://files.example.com", "https://files.example.com/path", "javascript:x"]}),
        )) else {
            panic!("plain http, a path and a non-URL must be refused");
        };
        let paths: Vec<String> = error.problems().iter().map(|p| p.path.clone()).collect();
        assert_eq!(
            paths,
            [
                "environments.uat.spotdraft.downloadOrigins[0]",
                "environments.uat.spotdraft.downloadOrigins[1]",
                "environments.uat.spotdraft.downloadOrigins[2]"
            ]
        );
    }
}
