#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| spotdraft_crm_fuzz_bodies::config(data));
