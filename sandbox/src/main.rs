//! spotdraft-sandbox: local stand-ins for SpotDraft's public API and a HubSpot-shaped CRM, for
//! the demo and the integration tests. See sandbox/README.md.

mod app;
mod clock;
mod config;
mod control;
mod crm;
mod crm_events;
mod crm_properties;
mod delivery;
mod faults;
mod http;
mod journal;
mod lifecycle;
mod rng;
mod seed;
mod server;
mod spotdraft;
mod state;
mod templates;
mod vendors;

use app::{App, Settings};
use config::{Config, USAGE};
use faults::FaultEngine;
use server::{Service, ServiceHandler};
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

static STOP_REQUESTED: AtomicBool = AtomicBool::new(false);

extern "C" fn request_stop(_signal: libc::c_int) {
    // Only an atomic store: the one thing that is safe inside a signal handler.
    STOP_REQUESTED.store(true, Ordering::SeqCst);
}

fn install_stop_handlers() {
    let handler = request_stop as extern "C" fn(libc::c_int) as libc::sighandler_t;
    // SAFETY: `request_stop` is async-signal-safe (a single atomic store) and lives for the
    // whole program.
    unsafe {
        libc::signal(libc::SIGINT, handler);
        libc::signal(libc::SIGTERM, handler);
    }
}

fn bind(config: &Config, port: u16, what: &str) -> Result<TcpListener, String> {
    let address = SocketAddr::new(config.host, port);
    TcpListener::bind(address).map_err(|error| format!("cannot listen for the {what} on {address}: {error}"))
}

fn run(config: Config) -> Result<(), String> {
    let loaded = match (&config.state_file, config.fresh) {
        (Some(path), false) => state::load(path).map_err(|error| format!("{}: {error}", path.display()))?,
        _ => None,
    };
    let resumed = loaded.is_some();
    let mut state = loaded.unwrap_or_else(|| seed::initial_state(config.seed));
    if state.vendors.salesforce.records.is_empty() {
        state.vendors = seed::initial_state(state.seed).vendors;
    } else if state.vendors.hubspot.client_id.is_empty() {
        // A state file from before HubSpot's OAuth app existed here.
        state.vendors.hubspot = seed::initial_state(state.seed).vendors.hubspot;
    }
    if let Some(ttl) = config.crm_token_ttl_secs {
        state.vendors.token_ttl_secs = ttl;
    }
    let spotdraft_listener = bind(&config, config.spotdraft_port, "SpotDraft API")?;
    let crm_listener = bind(&config, config.crm_port, "CRM API")?;
    let spotdraft_address = spotdraft_listener.local_addr().map_err(|error| error.to_string())?;
    let crm_address = crm_listener.local_addr().map_err(|error| error.to_string())?;

    let settings =
        Settings { local_testing: config.local_testing, download_link_ttl_secs: config.download_link_ttl_secs };
    let app = Arc::new(App::new(
        state,
        config.state_file.clone(),
        settings,
        FaultEngine::new(config.faults.clone(), config.seed),
    ));
    {
        // Pipedrive webhooks kept in a state file send their events again.
        let state = app.state();
        crm_events::mirror_pipedrive_webhooks(&app, &state.vendors.pipedrive_webhooks);
    }
    app.save_now();
    delivery::start_worker(Arc::clone(&app));
    http::serve(spotdraft_listener, Arc::new(ServiceHandler { app: Arc::clone(&app), service: Service::SpotDraft }));
    http::serve(crm_listener, Arc::new(ServiceHandler { app: Arc::clone(&app), service: Service::Crm }));
    install_stop_handlers();
    print_banner(&app, &config, spotdraft_address, crm_address, resumed);

    while !STOP_REQUESTED.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(50));
    }
    app.save_now();
    match &config.state_file {
        Some(path) => println!("sandbox: stopping; state saved to {}", path.display()),
        None => println!("sandbox: stopping (in-memory state discarded)"),
    }
    Ok(())
}

fn print_banner(app: &App, config: &Config, spotdraft: SocketAddr, crm: SocketAddr, resumed: bool) {
    let state = app.state();
    println!("spotdraft-sandbox");
    println!(
        "  SpotDraft API  http://{spotdraft}/api/v2.1/public/   (stands in for https://api.<region>.spotdraft.com)"
    );
    println!("  CRM API        http://{crm}/crm/v3/objects/deals   (HubSpot CRM v3 shape)");
    println!("  control API    http://{spotdraft}/__sandbox/  (also on the CRM port)");
    for workspace in &state.workspaces {
        println!(
            "  workspace {:<10} client-id: {}  client-secret: {}  user-email: {}",
            workspace.name,
            workspace.client_id,
            workspace.client_secret,
            workspace.default_user().map_or("", |user| user.email.as_str())
        );
        let templates: Vec<String> =
            workspace.templates.iter().map(|template| format!("{} {}", template.id, template.name)).collect();
        println!("  {:<20} hmac_key: {}  templates: {}", "", workspace.hmac_key, templates.join(", "));
    }
    println!("  CRM            Authorization: Bearer {}", state.crm.bearer_token);
    println!(
        "  CRM vendors    Salesforce /services/data/v62.0, Zoho CRM /crm/v8, Pipedrive /api/v2 on the CRM port; credentials: GET /__sandbox/crm/vendors; access tokens live {} s",
        state.vendors.token_ttl_secs
    );
    match &config.state_file {
        Some(path) => {
            println!("  state file     {} ({})", path.display(), if resumed { "resumed" } else { "fresh from seed" })
        }
        None => println!("  state file     none (in memory)"),
    }
    println!(
        "  options        seed={} local-testing={} rate-limit={} fault-rules={}",
        config.seed,
        config.local_testing,
        config.faults.rate_limit,
        config.faults.rules.len()
    );
    // One machine-readable line for scripts and tests.
    println!("SANDBOX_READY spotdraft=http://{spotdraft} crm=http://{crm}");
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let config = match Config::from_args(&args) {
        Ok(config) => config,
        Err(message) if message.is_empty() => {
            print!("{USAGE}");
            return;
        }
        Err(message) => {
            eprintln!("sandbox: {message}\n\n{USAGE}");
            std::process::exit(2);
        }
    };
    if let Err(message) = run(config) {
        eprintln!("sandbox: {message}");
        std::process::exit(1);
    }
}
