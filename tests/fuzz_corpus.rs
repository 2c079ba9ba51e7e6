//! Replays every committed fuzz input (`fuzz/corpus/<target>/*`) and crash reproducer
//! (`fuzz/artifacts/<target>/*`) through the same target bodies cargo-fuzz runs, on the stable
//! toolchain, so plain `cargo test` re-checks everything fuzzing ever found. `bash scripts/fuzz.sh`
//! runs the coverage-guided fuzzing itself.

#[allow(dead_code)]
#[path = "../fuzz/src/lib.rs"]
mod bodies;

use std::path::{Path, PathBuf};

fn inputs(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.is_file()).collect(),
        Err(_) => Vec::new(),
    };
    files.sort();
    files
}

#[test]
fn every_corpus_file_and_reproducer_passes_its_target() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut failures = Vec::new();
    for (name, body) in bodies::TARGETS {
        let corpus = inputs(&root.join("corpus").join(name));
        assert!(!corpus.is_empty(), "fuzz/corpus/{name} has no seed inputs");
        for path in corpus.iter().chain(&inputs(&root.join("artifacts").join(name))) {
            let data = std::fs::read(path).unwrap();
            if std::panic::catch_unwind(|| body(&data)).is_err() {
                failures.push(path.display().to_string());
            }
        }
    }
    assert!(failures.is_empty(), "fuzz inputs that fail their target:\n{}", failures.join("\n"));
}
