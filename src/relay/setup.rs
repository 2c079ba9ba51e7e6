//! The environment's setup as the admin console edits it: which templates are offered, at which
//! stages, and how each template variable is filled (`creationStages`, `stageLabels`, `templates`,
//! `contractsPerDeal`, `recordFollows`). Everything else in the plugin block (environment, CRM
//! connection, API target, origins) and every secret stay in the relay's configuration file.
//!
//! Each save is a version in the environment's setup history (an [`EntryLog`]: Redis shared by every
//! instance, or a file in the state directory): who saved it, when, what changed, and the whole
//! setup, so any version can be restored (a rollback is itself a new version). Version 0 is the
//! file's own setup. The newest version is in effect: the instance that saved it uses it at once,
//! others within [`RECHECK_MS`], with no restart.
//!
//! A draft is read by the same configuration reader the relay starts with, merged into the file's
//! plugin block (so it cannot change the environment, CRM or API target, and a UAT setup can never
//! name production), and every template it offers must be a template of this environment's
//! SpotDraft workspace.
//!
//! - `GET /admin/{env}/setup`: the setup in effect, its version, and the whole plugin block.
//! - `GET /admin/{env}/versions`: the history, newest first (who, when, what changed).
//! - `POST /admin/{env}/setup` `{"setup": {…}, "basedOn": n}`: saves a new version.
//! - `POST /admin/{env}/rollback` `{"version": n, "basedOn": m}`: restores version `n` as a new one.
//!
//! Saves are serialised per environment and refused (409) when `basedOn` is not the newest
//! version: an admin never overwrites a save they have not seen.

use std::rc::Rc;

use serde_json::{json, Map, Value};

use super::entry_log::{EntryLog, MAX_ENTRIES};
use super::{EnvironmentRuntime, Relay, RelayRequest};
use crate::config::Config;
use crate::error::{Error, Problem, Result};
use crate::json_input::key_path;
use crate::transport::Transport;

/// The plugin keys the console edits; the rest of the plugin block is the file's.
pub const SETUP_KEYS: [&str; 5] = ["creationStages", "stageLabels", "templates", "contractsPerDeal", "recordFollows"];

/// How long an instance uses the setup it has before asking the history for a newer version.
pub const RECHECK_MS: u64 = 2_000;

/// The setup an environment runs with, and where it came from.
pub(super) struct Current {
    pub config: Rc<Config>,
    pub version: u64,
    /// When the history was last asked (relay clock, ms); 0: never.
    pub checked_at_ms: u64,
}

/// The setup keys of a plugin block.
pub fn setup_of(plugin: &Value) -> Value {
    let mut setup = Map::new();
    if let Value::Object(map) = plugin {
        for key in SETUP_KEYS {
            if let Some(value) = map.get(key) {
                setup.insert(key.to_string(), value.clone());
            }
        }
    }
    Value::Object(setup)
}

/// The file's plugin block with `setup` in place of its setup keys, and the configuration it reads as
/// (its problems located under `setup.`: an admin's draft is input, answered 400, not a broken relay).
pub fn merged(file_plugin: &Value, setup: &Value) -> Result<(Value, Config)> {
    let document = document(file_plugin, setup)?;
    let config = Config::from_json(&document).map_err(|error| {
        Error::InvalidInput(
            error.problems().iter().map(|p| Problem::new(key_path("setup", &p.path), p.message.clone())).collect(),
        )
    })?;
    Ok((document, config))
}

/// The file's plugin block with `setup` in place of its setup keys, not yet read.
fn document(file_plugin: &Value, setup: &Value) -> Result<Value> {
    let Value::Object(setup_map) = setup else {
        return Err(Error::invalid_input("setup", "must be an object of creationStages, stageLabels, templates, …"));
    };
    let mut problems = Vec::new();
    for key in setup_map.keys() {
        if !SETUP_KEYS.contains(&key.as_str()) {
            let message = if file_plugin.get(key).is_some() {
                "is set in the relay's configuration file, not in the console".to_string()
            } else {
                format!("is not part of the setup (it has {})", SETUP_KEYS.join(", "))
            };
            problems.push(Problem::new(key_path("setup", key), message));
        }
    }
    if !problems.is_empty() {
        return Err(Error::InvalidInput(problems));
    }
    let mut document = match file_plugin {
        Value::Object(map) => map.clone(),
        _ => Map::new(),
    };
    for key in SETUP_KEYS {
        document.remove(key);
        if let Some(value) = setup_map.get(key) {
            document.insert(key.to_string(), value.clone());
        }
    }
    Ok(Value::Object(document))
}

/// One saved version, as the history keeps it.
struct Saved {
    version: u64,
    entry: Value,
}

fn parse_saved(text: &str) -> Option<Saved> {
    let entry: Value = serde_json::from_str(text).ok()?;
    let version = entry.get("version")?.as_u64()?;
    entry.get("setup")?.as_object()?;
    Some(Saved { version, entry })
}

/// The newest version the history holds (an entry that does not read, e.g. a torn write, is skipped,
/// so version numbers never go back).
async fn newest(history: &dyn EntryLog, environment: &str) -> Result<Option<Saved>> {
    Ok(history.recent(environment, 10).await?.iter().find_map(|text| parse_saved(text)))
}

/// Brings `env`'s setup up to the history's newest version when it was last asked more than
/// [`RECHECK_MS`] ago. A history that cannot be read, or a saved setup the file no longer accepts,
/// leaves the setup in effect as it is (said in the request's log line).
pub(super) async fn refresh<T: Transport>(relay: &Relay<T>, env: &EnvironmentRuntime<T>, log: &mut Value) {
    let now = relay.now_ms();
    {
        let current = env.current.borrow();
        if current.checked_at_ms != 0 && now.saturating_sub(current.checked_at_ms) < RECHECK_MS {
            return;
        }
    }
    env.current.borrow_mut().checked_at_ms = now.max(1);
    let note = |log: &mut Value, message: String| {
        if let Value::Object(map) = log {
            map.insert("setupError".into(), Value::String(message));
        }
    };
    let environment = env.config.environment.as_str();
    match newest(&*relay.setup_history, environment).await {
        // Only forward: a save this instance made while the history was being read is newer.
        Ok(Some(saved)) if saved.version > env.current.borrow().version => {
            let setup = saved.entry.get("setup").cloned().unwrap_or(Value::Null);
            match merged(&env.config.plugin_document, &setup) {
                Ok((_, config)) => {
                    let mut current = env.current.borrow_mut();
                    current.config = Rc::new(config);
                    current.version = saved.version;
                }
                Err(error) => note(log, format!("setup version {} is not used: {error}", saved.version)),
            }
        }
        Ok(_) => {}
        Err(error) => note(log, format!("the setup history could not be read: {error}")),
    }
}

/// `GET /admin/{env}/setup` (the admin checked by the route; named in the answer as `you`).
pub(super) async fn read<T: Transport>(relay: &Relay<T>, env: &EnvironmentRuntime<T>, admin: &str) -> Result<Value> {
    let environment = env.config.environment.as_str();
    let saved = newest(&*relay.setup_history, environment).await?;
    let (version, setup, at, by) = match &saved {
        Some(saved) => (
            saved.version,
            saved.entry.get("setup").cloned().unwrap_or(Value::Null),
            saved.entry.get("at").cloned().unwrap_or(Value::Null),
            saved.entry.get("by").cloned().unwrap_or(Value::Null),
        ),
        None => (0, setup_of(&env.config.plugin_document), Value::Null, Value::Null),
    };
    let in_effect = env.current.borrow().version;
    // Unread, so a saved setup the file no longer accepts can still be seen, and fixed, in the console.
    let plugin = document(&env.config.plugin_document, &setup).ok();
    Ok(json!({
        "environment": environment,
        "you": admin,
        "version": version,
        "at": at,
        "by": by,
        "setup": setup,
        // The whole plugin block the setup runs in (no secrets are in it), for the console's preview.
        "plugin": plugin,
        "inEffect": in_effect == version,
        "setupKeys": SETUP_KEYS,
    }))
}

/// `GET /admin/{env}/versions`: every version, newest first, without the setups themselves.
pub(super) async fn versions<T: Transport>(relay: &Relay<T>, env: &EnvironmentRuntime<T>) -> Result<Value> {
    let texts = relay.setup_history.recent(env.config.environment.as_str(), MAX_ENTRIES).await?;
    let mut list: Vec<Value> = texts
        .iter()
        .filter_map(|text| parse_saved(text))
        .map(|saved| {
            let mut summary = saved.entry;
            if let Value::Object(map) = &mut summary {
                map.remove("setup");
            }
            summary
        })
        .collect();
    list.push(json!({"version": 0, "at": null, "by": null, "changes": ["the relay's configuration file"]}));
    Ok(json!({"versions": list}))
}

/// `POST /admin/{env}/setup` `{setup, basedOn}`, by `admin`.
pub(super) async fn save<T: Transport>(
    relay: &Relay<T>,
    env: &EnvironmentRuntime<T>,
    request: &RelayRequest,
    admin: &str,
) -> Result<Value> {
    let body = body_of(request)?;
    let setup = body.get("setup").ok_or_else(|| Error::invalid_input("setup", "the setup to save is required"))?;
    store(relay, env, setup.clone(), based_on(&body)?, admin, None).await
}

/// `POST /admin/{env}/rollback` `{version, basedOn}`, by `admin`: version `version`'s setup saved again.
pub(super) async fn rollback<T: Transport>(
    relay: &Relay<T>,
    env: &EnvironmentRuntime<T>,
    request: &RelayRequest,
    admin: &str,
) -> Result<Value> {
    let body = body_of(request)?;
    let wanted = body
        .get("version")
        .and_then(Value::as_u64)
        .ok_or_else(|| Error::invalid_input("version", "the version to restore is required (a whole number)"))?;
    let setup = if wanted == 0 {
        setup_of(&env.config.plugin_document)
    } else {
        let texts = relay.setup_history.recent(env.config.environment.as_str(), MAX_ENTRIES).await?;
        texts
            .iter()
            .filter_map(|text| parse_saved(text))
            .find(|saved| saved.version == wanted)
            .and_then(|saved| saved.entry.get("setup").cloned())
            .ok_or_else(|| Error::invalid_input("version", format!("there is no version {wanted} to restore")))?
    };
    store(relay, env, setup, based_on(&body)?, admin, Some(wanted)).await
}

fn body_of(request: &RelayRequest) -> Result<Value> {
    serde_json::from_slice(&request.body).map_err(|e| Error::invalid_input("body", format!("is not JSON ({e})")))
}

fn based_on(body: &Value) -> Result<u64> {
    body.get("basedOn").and_then(Value::as_u64).ok_or_else(|| {
        Error::invalid_input("basedOn", "the version the change was made on is required (GET …/setup answers it)")
    })
}

async fn store<T: Transport>(
    relay: &Relay<T>,
    env: &EnvironmentRuntime<T>,
    setup: Value,
    based_on: u64,
    admin: &str,
    restored_from: Option<u64>,
) -> Result<Value> {
    let environment = env.config.environment.as_str();
    let (_, config) = merged(&env.config.plugin_document, &setup)?;
    check_templates_exist(env, &config).await?;
    // One save at a time per environment, across instances.
    let _guard = relay.locks.lock(&format!("setup:{environment}"), &*relay.transport).await?;
    let previous = newest(&*relay.setup_history, environment).await?;
    let (newest_version, previous_setup) = match &previous {
        Some(saved) => (saved.version, saved.entry.get("setup").cloned().unwrap_or(Value::Null)),
        None => (0, setup_of(&env.config.plugin_document)),
    };
    if based_on != newest_version {
        let by = previous.as_ref().and_then(|s| s.entry.get("by")).and_then(Value::as_str).unwrap_or("someone");
        return Err(Error::Conflict {
            reason: format!(
                "version {newest_version} was saved by {by} after version {based_on}, which this change was made on: reload to see it, then make the change again"
            ),
        });
    }
    let changes = changes(&previous_setup, &setup);
    if changes.is_empty() && restored_from.is_none() {
        return Ok(json!({"version": newest_version, "unchanged": true, "changes": []}));
    }
    let version = newest_version + 1;
    let at = super::audit::timestamp(relay.now_ms());
    let mut entry = json!({"version": version, "at": at, "by": admin, "changes": changes, "setup": setup});
    if let (Some(from), Value::Object(map)) = (restored_from, &mut entry) {
        map.insert("restoredFrom".into(), json!(from));
    }
    relay.setup_history.append(environment, entry.to_string()).await?;
    {
        let mut current = env.current.borrow_mut();
        current.config = Rc::new(config);
        current.version = version;
        current.checked_at_ms = relay.now_ms().max(1);
    }
    Ok(json!({"version": version, "at": at, "by": admin, "changes": changes, "restoredFrom": restored_from}))
}

/// Every offered template must be one of this environment's workspace: a template id copied from
/// the other environment's workspace is refused here, not at a seller's click.
async fn check_templates_exist<T: Transport>(env: &EnvironmentRuntime<T>, config: &Config) -> Result<()> {
    let workspace = env.client.templates().await?;
    let mut problems = Vec::new();
    for (i, template) in config.templates.iter().enumerate() {
        match workspace.iter().find(|w| w.id == template.template_id) {
            None => problems.push(Problem::new(
                format!("setup.templates[{i}].templateId"),
                format!(
                    "{} is not a template of this environment's SpotDraft workspace ({})",
                    template.template_id,
                    env.config.environment.as_str()
                ),
            )),
            Some(found) if found.contract_type_id.is_some_and(|id| id != template.contract_type_id) => {
                problems.push(Problem::new(
                    format!("setup.templates[{i}].contractTypeId"),
                    format!(
                        "must be {}, the contract type of template {} in this workspace",
                        found.contract_type_id.unwrap_or_default(),
                        template.template_id
                    ),
                ))
            }
            Some(_) => {}
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::InvalidInput(problems))
    }
}

/// What changed from `old` to `new`, one line each in an admin's terms: templates named by label
/// (else id) and fields by variable, so a line reads
/// `templates[Mutual NDA].fields[effective_date].source: "deal.closeDate" → "custom.start_date"`.
pub fn changes(old: &Value, new: &Value) -> Vec<String> {
    let mut out = Vec::new();
    diff("", old, new, &mut out);
    out
}

/// The key an array's objects are matched by, when they have one.
fn identity(item: &Value) -> Option<String> {
    let label = item.get("label").and_then(Value::as_str);
    match (item.get("templateId").and_then(Value::as_u64), item.get("variable").and_then(Value::as_str)) {
        (Some(id), _) => Some(label.map_or_else(|| id.to_string(), |l| format!("{l} ({id})"))),
        (None, Some(variable)) => Some(variable.to_string()),
        _ => None,
    }
}

/// An added field mapping in a few words (` from deal.name (string)`); other entries say nothing more.
fn describe(item: &Value) -> String {
    let encoding = item.get("encoding").and_then(Value::as_str).unwrap_or("?");
    match (item.get("variable"), item.get("source").and_then(Value::as_str), item.get("value")) {
        (Some(_), Some(source), _) => format!(" from {source} ({encoding})"),
        (Some(_), None, Some(value)) => format!(" as the constant {} ({encoding})", compact(value)),
        _ => String::new(),
    }
}

fn compact(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(80) {
        Some((cut, _)) => format!("{}…", text.get(..cut).unwrap_or_default()),
        None => text,
    }
}

fn diff(path: &str, old: &Value, new: &Value, out: &mut Vec<String>) {
    if old == new {
        return;
    }
    let at = |key: &str| if path.is_empty() { key.to_string() } else { format!("{path}.{key}") };
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            for (key, value) in a {
                match b.get(key) {
                    Some(other) => diff(&at(key), value, other, out),
                    None => out.push(format!("{}: removed (was {})", at(key), compact(value))),
                }
            }
            for (key, value) in b.iter().filter(|(key, _)| !a.contains_key(*key)) {
                out.push(format!("{}: set to {}", at(key), compact(value)));
            }
        }
        (Value::Array(a), Value::Array(b)) if a.iter().chain(b).all(|item| identity(item).is_some()) => {
            // Matched by id, not position: a reordered list is not a change of every entry.
            let id_of = |item: &Value| {
                item.get("templateId").map_or_else(|| item.get("variable").cloned(), |v| Some(v.clone()))
            };
            for item in a {
                let name = format!("{path}[{}]", identity(item).unwrap_or_default());
                match b.iter().find(|other| id_of(other) == id_of(item)) {
                    Some(other) => diff(&name, item, other, out),
                    None => out.push(format!("{name}: removed")),
                }
            }
            for item in b.iter().filter(|item| !a.iter().any(|old| id_of(old) == id_of(item))) {
                out.push(format!("{path}[{}]: added{}", identity(item).unwrap_or_default(), describe(item)));
            }
        }
        (Value::Array(a), Value::Array(b)) if a.iter().chain(b).all(|item| !item.is_object()) => {
            let added: Vec<String> = b.iter().filter(|v| !a.contains(v)).map(compact).collect();
            let removed: Vec<String> = a.iter().filter(|v| !b.contains(v)).map(compact).collect();
            if !added.is_empty() {
                out.push(format!("{path}: added {}", added.join(", ")));
            }
            if !removed.is_empty() {
                out.push(format!("{path}: removed {}", removed.join(", ")));
            }
            if added.is_empty() && removed.is_empty() {
                out.push(format!("{path}: reordered"));
            }
        }
        _ => out.push(format!("{path}: {} → {}", compact(old), compact(new))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plugin() -> Value {
        json!({
            "environment": "uat",
            "crm": {"host": "hubspot", "accountId": "4411223"},
            "api": {"baseUrl": "https://api.spotdraft.com"},
            "creationStages": ["qualifiedtobuy"],
            "templates": [{"templateId": 202, "label": "Mutual NDA", "contractTypeId": 12, "fields": [
                {"variable": "effective_date", "source": "deal.closeDate", "encoding": "date"}
            ]}]
        })
    }

    #[test]
    fn a_setup_replaces_only_the_setup_keys_of_the_file() {
        let mut setup = setup_of(&plugin());
        setup["creationStages"] = json!(["contractsent"]);
        let (document, config) = merged(&plugin(), &setup).expect("valid");
        assert_eq!(config.creation_stages, vec!["contractsent".to_string()]);
        assert_eq!(document["crm"]["accountId"], "4411223");
    }

    #[test]
    fn the_file_keys_cannot_be_changed_from_the_console() {
        let setup = json!({"environment": "production", "crm": {"host": "zoho", "accountId": "1"}, "colour": 1});
        let problems = merged(&plugin(), &setup).expect_err("refused").problems().to_vec();
        let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(paths, ["setup.colour", "setup.crm", "setup.environment"]);
        assert!(problems[1].message.contains("configuration file"));
    }

    #[test]
    fn problems_are_located_under_setup() {
        let mut setup = setup_of(&plugin());
        setup["templates"][0]["fields"][0]["encoding"] = json!("dat");
        let problems = merged(&plugin(), &setup).expect_err("refused").problems().to_vec();
        assert_eq!(problems[0].path, "setup.templates[0].fields[0].encoding");
    }

    #[test]
    fn changes_name_templates_and_fields_not_positions() {
        let old = setup_of(&plugin());
        let mut new = old.clone();
        new["templates"][0]["fields"][0]["source"] = json!("custom.start_date");
        new["templates"][0]["fields"]
            .as_array_mut()
            .expect("fields")
            .insert(0, json!({"variable": "fees", "source": "deal.amount", "encoding": "currency"}));
        new["creationStages"] = json!(["qualifiedtobuy", "contractsent"]);
        let lines = changes(&old, &new);
        assert_eq!(
            lines,
            [
                "creationStages: added \"contractsent\"",
                "templates[Mutual NDA (202)].fields[effective_date].source: \"deal.closeDate\" → \"custom.start_date\"",
                "templates[Mutual NDA (202)].fields[fees]: added from deal.amount (currency)",
            ]
        );
        assert!(changes(&old, &old).is_empty());
    }
}
