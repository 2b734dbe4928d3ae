#![no_main]
// libFuzzer entry (cargo +nightly fuzz run snapshot); the property lives in src/lib.rs.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if !conventions_ent_fuzz::skip_known("snapshot", data) {
        conventions_ent_fuzz::snapshot(data);
    }
});
