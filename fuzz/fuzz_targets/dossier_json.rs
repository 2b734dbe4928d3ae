#![no_main]
// libFuzzer entry (cargo +nightly fuzz run dossier_json); the property lives in src/lib.rs.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if !conventions_ent_fuzz::skip_known("dossier_json", data) {
        conventions_ent_fuzz::dossier_json(data);
    }
});
