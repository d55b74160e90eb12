//! Arbitrary text as a config key: only canonical keys parse, and none can
//! name a path outside the output folder.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|s: &str| {
    if let Ok(c) = fxlabel::Config::parse_key(s) {
        assert_eq!(c.key(), s);
        assert!(!s.contains('/') && !s.contains('\\') && !s.contains(".."));
    }
});
