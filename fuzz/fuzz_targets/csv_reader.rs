//! CSV text in two chunks cut at a point taken from the input: no panic,
//! and the cut never changes the outcome; accepted candles label and
//! encode without panic.
#![no_main]
use fxlabel::{CandlesBuilder, CsvReader, EncodeOptions, Labeler, Params};
use libfuzzer_sys::fuzz_target;

fn read(chunks: &[&[u8]]) -> fxlabel::Result<fxlabel::Candles> {
    let mut b = CandlesBuilder::new();
    let mut r = CsvReader::new(None);
    for c in chunks {
        r.feed(c, &mut b)?;
    }
    r.finish(&mut b)?;
    b.finish()
}

fuzz_target!(|data: &[u8]| {
    let cut = data.first().map_or(0, |&c| c as usize).min(data.len());
    let whole = read(&[data]);
    let split = read(&[&data[..cut], &data[cut..]]);
    assert_eq!(
        whole.as_ref().map(|c| c.fingerprint().clone()).map_err(|e| e.to_string()),
        split.as_ref().map(|c| c.fingerprint().clone()).map_err(|e| e.to_string())
    );
    if let Ok(c) = whole {
        let p = Params { target_pips: vec![5.0], stop_pips: vec![5.0], horizons: vec![3], ..Params::default() };
        let labeler = Labeler::new(c, p.validate().unwrap()).unwrap();
        let config = labeler.configs()[0];
        fxlabel::encode_config(&labeler, &config, &EncodeOptions::default()).unwrap();
    }
});
