//! SpotDraft's public API: typed bodies, error bodies, retry policy and the client.

pub mod client;
pub mod error_body;
pub mod js_options;
pub mod retry;
pub mod types;

pub use client::{ClientOptions, Credentials, ListQuery, SpotDraftClient};
pub use retry::RetryPolicy;
