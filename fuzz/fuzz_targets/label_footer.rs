//! Arbitrary bytes as an existing label file's tail (what a resumed run
//! reads from its folder) and through the checks the wasm skin runs before
//! reading a file back: errors only.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = fxlabel::footer_size(data);
    let _ = fxlabel::read_file_meta(data);
    let _ = fxlabel::input::check_file_bytes(data);
});
