//! Arbitrary bytes as a Parquet candle file: an error or candles, never a
//! panic that escapes `read_parquet` (it turns the parquet crate's own
//! panics on corrupt data pages into errors, so the fuzzer's abort-on-panic
//! hook is replaced by a quiet one here).
#![no_main]
use fxlabel::CandlesBuilder;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    static QUIET: std::sync::Once = std::sync::Once::new();
    QUIET.call_once(|| std::panic::set_hook(Box::new(|_| {})));
    let mut b = CandlesBuilder::new();
    let _ = fxlabel::read_parquet(bytes::Bytes::copy_from_slice(data), None, &mut b);
});
