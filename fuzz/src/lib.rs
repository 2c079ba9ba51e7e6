//! The bodies of the fuzz targets: one function per parser family, taking the fuzzer's bytes and
//! panicking when a property fails. `fuzz/fuzz_targets/*.rs` call them under libFuzzer (nightly);
//! `tests/fuzz_corpus.rs` includes this file with `#[path]` and replays every committed corpus file
//! and crash reproducer through them on stable, so CI always re-checks what fuzzing found.
//!
//! Each body asserts more than "no panic" where that is cheap: signatures verify only what was
//! signed with the key, parsed documents survive a round trip, mapping output stays inside the
//! template, and the sidebar never opens a URL that is not https.

#[path = "config.rs"]
mod config_bodies;
#[path = "mapping.rs"]
mod mapping_bodies;
#[path = "messages.rs"]
mod message_bodies;
#[path = "responses.rs"]
mod response_bodies;
#[path = "tokens.rs"]
mod token_bodies;
#[path = "webhook.rs"]
mod webhook_bodies;

pub use config_bodies::{config, relay_config};
pub use mapping_bodies::mapping;
pub use message_bodies::sidebar_messages;
pub use response_bodies::responses;
pub use token_bodies::tokens;
pub use webhook_bodies::webhook;

/// A target body: the fuzzer's bytes in, a panic when a property fails.
pub type Body = fn(&[u8]);

/// Every target by its cargo-fuzz name (the directory under `fuzz/corpus/`).
pub const TARGETS: [(&str, Body); 7] = [
    ("webhook", webhook),
    ("config", config),
    ("relay_config", relay_config),
    ("mapping", mapping),
    ("responses", responses),
    ("sidebar_messages", sidebar_messages),
    ("tokens", tokens),
];

/// A small deterministic hash of the input, to pick positions for bit flips without randomness.
fn spot(data: &[u8]) -> usize {
    data.iter().fold(0x811c_9dc5_usize, |h, b| (h ^ usize::from(*b)).wrapping_mul(0x0100_0193))
}
