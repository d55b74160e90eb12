//! wasm-bindgen tests of the skin, run in Node (`wasm-pack test --node`)
//! and in headless Chromium (`WASM_BINDGEN_USE_BROWSER=1 wasm-pack test
//! --headless --chrome`): the conversions, the errors JS sees, and the
//! bytes that come out.

use super::*;
use wasm_bindgen_test::*;

fn prop(v: &JsValue, k: &str) -> JsValue {
    js_sys::Reflect::get(v, &k.into()).unwrap_or(JsValue::UNDEFINED)
}

fn columns(
    n: usize,
) -> (
    js_sys::BigInt64Array,
    Vec<f64>,
    Vec<f64>,
    Vec<f64>,
    Vec<f64>,
) {
    let c = fxlabel::synth::columns(n, 3);
    let ts = js_sys::BigInt64Array::new_with_length(n as u32);
    ts.copy_from(&c.ts);
    (ts, c.open, c.high, c.low, c.close)
}

fn opts(json: &str) -> JsValue {
    js_sys::JSON::parse(json).unwrap()
}

/// An input for the options in `json`.
fn input_for(json: &str) -> CandleInput {
    CandleInput::js_new(opts(json)).unwrap()
}

#[wasm_bindgen_test]
fn label_chunks_into_parquet_and_arrow() {
    let (ts, o, h, l, c) = columns(3000);
    let mut input = input_for(r#"{"targetPips":[5,7.5],"stopPips":[5],"horizons":[30]}"#);
    // Two chunks, split at an arbitrary row.
    input
        .append_columns(
            ts.subarray(0, 1234).into(),
            &o[..1234],
            &h[..1234],
            &l[..1234],
            &c[..1234],
            None,
        )
        .unwrap();
    input
        .append_columns(
            ts.subarray(1234, 3000).into(),
            &o[1234..],
            &h[1234..],
            &l[1234..],
            &c[1234..],
            None,
        )
        .unwrap();
    assert_eq!(input.rows(), 3000);
    let labeler = input.finish().unwrap();
    assert_eq!(
        labeler.configs(),
        vec!["T5_S5_H30".to_string(), "T7.5_S5_H30".to_string()]
    );
    assert_eq!(
        labeler.file_name("T7.5_S5_H30".into()).unwrap(),
        "T7.5_S5_H30.parquet"
    );
    let bytes = labeler.label("T7.5_S5_H30".into()).unwrap();
    let (schema, batches) = fxlabel::read_label_file(&bytes).unwrap();
    assert_eq!(schema.fields().len(), 9);
    assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 3000);
    let tail = &bytes[bytes.len() - footer_size(&bytes[bytes.len() - 10..]).unwrap()..];
    // The run protocol, stepped as the JS host steps it: a folder holding
    // this file skips its config and writes the other.
    let folder = js_sys::JSON::parse(
        r#"{"display": "mem", "id": "wasm-test", "owner": "1", "lock": "none"}"#,
    )
    .unwrap();
    let run = labeler.run(folder, false).unwrap();
    let mut plan = run.plan();
    let op = |v: &JsValue| prop(v, "op").as_string().unwrap_or_default();
    let name = |v: &JsValue| prop(v, "name").as_string().unwrap_or_default();
    let step = plan.next(JsValue::UNDEFINED, JsValue::UNDEFINED).unwrap();
    assert_eq!(op(&step), "makeDir");
    let step = plan.next(false.into(), JsValue::UNDEFINED).unwrap();
    assert_eq!(op(&step), "list");
    let names = js_sys::Array::of1(&"T7.5_S5_H30.parquet".into());
    let step = plan.next(names.into(), JsValue::UNDEFINED).unwrap();
    assert_eq!(
        (op(&step), name(&step)),
        ("readTail".into(), "T7.5_S5_H30.parquet".into())
    );
    let done = plan
        .next(js_sys::Uint8Array::from(tail).into(), JsValue::UNDEFINED)
        .unwrap();
    let value = js_sys::Reflect::get(&done, &"value".into()).unwrap();
    let keys = |k: &str| -> Vec<String> {
        serde_wasm_bindgen::from_value(js_sys::Reflect::get(&value, &k.into()).unwrap()).unwrap()
    };
    assert_eq!(
        (keys("skip"), keys("todo")),
        (
            vec!["T7.5_S5_H30".to_string()],
            vec!["T5_S5_H30".to_string()]
        )
    );
    // A store failure comes back as the core's error, naming what was done.
    let mut commit = run.commit("T5_S5_H30".into()).unwrap();
    let step = commit.next(JsValue::UNDEFINED, JsValue::UNDEFINED).unwrap();
    assert_eq!(op(&step), "writeTemp");
    let step = commit
        .next(JsValue::UNDEFINED, js_sys::Error::new("disk full").into())
        .unwrap();
    assert_eq!(
        (op(&step), name(&step)),
        ("remove".into(), ".T5_S5_H30.parquet.tmp-1".into())
    );
    let err = commit
        .next(JsValue::UNDEFINED, JsValue::UNDEFINED)
        .unwrap_err();
    assert_eq!(prop(&err, "kind"), "io");
    let msg = prop(&err, "message").as_string().unwrap();
    assert!(
        msg.starts_with(
            "cannot save T5_S5_H30: cannot write .T5_S5_H30.parquet.tmp-1 in mem: disk full"
        ),
        "{msg}"
    );
    let mut release = run.release();
    let done = release
        .next(JsValue::UNDEFINED, JsValue::UNDEFINED)
        .unwrap();
    assert_eq!(prop(&done, "done").as_bool(), Some(true));
    // Streamed in pieces, the file is the same bytes.
    let mut stream = labeler.stream("T7.5_S5_H30".into()).unwrap();
    let mut joined = Vec::new();
    while let Some(piece) = stream.next().unwrap() {
        joined.extend(piece);
    }
    assert_eq!(joined, bytes);
    let ipc = to_ipc_stream(&bytes).unwrap();
    assert!(ipc.len() > 3000);
    let meta = read_metadata(tail).unwrap();
    assert_eq!(prop(&meta, "fxlabel.key"), "T7.5_S5_H30");

    // The same candles through Float64Array timestamps, Arrow format.
    let mut input =
        input_for(r#"{"targetPips":[5,7.5],"stopPips":[5],"horizons":[30],"format":"arrow"}"#);
    let f: Vec<f64> = ts.to_vec().iter().map(|&t| t as f64 + 0.5).collect();
    input
        .append_columns(
            js_sys::Float64Array::from(&f[..]).into(),
            &o,
            &h,
            &l,
            &c,
            None,
        )
        .unwrap();
    let labeler2 = input.finish().unwrap();
    let arrow = labeler2.label("T7.5_S5_H30".into()).unwrap();
    assert_eq!(&arrow[..6], b"ARROW1");
    let (_, b2) = fxlabel::read_label_file(&arrow).unwrap();
    assert_eq!(b2.iter().map(|b| b.num_rows()).sum::<usize>(), 3000);
}

#[wasm_bindgen_test]
fn csv_and_parquet_input() {
    let text = "Date,Open,High,Low,Close\n2024-01-02 00:00,1.1,1.1002,1.0999,1.1001\n2024-01-02 00:01,1.1001,1.1003,1.1,1.1002\n";
    let mut input = CandleInput::js_new(JsValue::UNDEFINED).unwrap();
    let (a, b) = text.as_bytes().split_at(50);
    input.append_csv(a).unwrap();
    input.append_csv(b).unwrap();
    let labeler = input.finish().unwrap();
    assert_eq!(labeler.rows(), 2);
    assert_eq!(labeler.configs().len(), 210);

    let cols = fxlabel::synth::columns(100, 1);
    let mut pq = Vec::new();
    cols.write_parquet(&mut pq).unwrap();
    let mut input = CandleInput::js_new(JsValue::UNDEFINED).unwrap();
    let groups = input.parquet_row_groups(&pq, pq.len() as f64).unwrap();
    for (i, g) in groups.iter().enumerate() {
        let g = js_sys::Array::from(&g);
        let (offset, len) = (
            g.get(0).as_f64().unwrap() as usize,
            g.get(1).as_f64().unwrap() as usize,
        );
        input
            .append_parquet_row_group(i as u32, pq[offset..offset + len].to_vec())
            .unwrap();
    }
    assert_eq!(input.rows(), 100);
}

#[wasm_bindgen_test]
fn errors_name_row_column_and_parameter() {
    let mut input = CandleInput::js_new(JsValue::UNDEFINED).unwrap();
    let err = input
        .append_csv(b"timestamp,open,high,low,close\n0,1,1,1,1\n60000,1,0.5,1,1\n")
        .unwrap_err();
    assert_eq!(prop(&err, "kind"), "input");
    assert_eq!(prop(&err, "row"), 1);
    assert_eq!(prop(&err, "column"), "high");
    assert!(err.dyn_ref::<js_sys::Error>().is_some(), "a real JS Error");

    let bad = |json: &str| match CandleInput::js_new(opts(json)) {
        Ok(_) => panic!("{json} accepted"),
        Err(e) => (
            prop(&e, "param").as_string().unwrap_or_default(),
            e.dyn_into::<js_sys::Error>()
                .map(|e| String::from(e.message()))
                .unwrap_or_default(),
        ),
    };
    // Every option named as JS spells it.
    assert_eq!(bad(r#"{"pipValue":0}"#).0, "pipValue");
    assert!(bad(r#"{"pipValue":-1}"#).1.contains("'pipValue'"));
    assert_eq!(bad(r#"{"targetPips":[]}"#).0, "targetPips");
    assert_eq!(bad(r#"{"horizons":[1.5]}"#).0, "horizons");
    assert_eq!(bad(r#"{"horizons":[1e300]}"#).0, "horizons");
    assert_eq!(bad(r#"{"sides":["up"]}"#).0, "sides");
    assert_eq!(bad(r#"{"tie":"coin"}"#).0, "tie");
    assert_eq!(bad(r#"{"compression":"zip"}"#).0, "compression");
    assert_eq!(bad(r#"{"targetPip":[5]}"#).0, "targetPip");
    assert_eq!(bad(r#"{"target_pips":[5]}"#).0, "target_pips");
    assert_eq!(bad(r#"{"targetPips":"5"}"#).0, "targetPips");
    assert_eq!(bad(r#"{"spreadPips":-1}"#).0, "spreadPips");
    assert_eq!(
        bad(r#"{"spreadPips":1,"spreadColumn":"s"}"#).0,
        "spreadColumn"
    );
    assert_eq!(bad(r#"{"entry":"open"}"#).0, "entry");
    assert_eq!(bad(r#"{"weights":"yes"}"#).0, "weights");
    let many: Vec<String> = (1..=400).map(|x| x.to_string()).collect();
    assert_eq!(
        bad(&format!(
            r#"{{"targetPips":[{0}],"stopPips":[{0}]}}"#,
            many.join(",")
        ))
        .0,
        "grid"
    );

    let (ts, o, h, l, c) = columns(10);
    let mut input = CandleInput::js_new(JsValue::UNDEFINED).unwrap();
    input
        .append_columns(ts.into(), &o, &h, &l, &c, None)
        .unwrap();
    let labeler = input.finish().unwrap();
    for key in ["../T5_S5_H1", "T5_S5_H1/../../x", "T5.0_S5_H1", "T11_S5_H1"] {
        assert!(labeler.label(key.into()).is_err(), "{key}");
        assert!(labeler.file_name(key.into()).is_err(), "{key}");
    }
    assert!(footer_size(b"not a file").is_err());
    assert!(to_ipc_stream(b"PAR1garbagePAR1").is_err());
}

#[wasm_bindgen_test]
fn version_2_settings_and_a_spread_column() {
    let (ts, o, h, l, c) = columns(2000);
    let tsv = ts.to_vec();
    let spread: Vec<f64> = (0..2000).map(|i| (i % 7) as f64 * 1e-5).collect();
    let json = r#"{"targetPips":[5],"stopPips":[5,10],"horizons":[30],"spreadColumn":"spread","entry":"next_open","weights":true,"extras":true}"#;
    let err = input_for(json)
        .append_columns(ts.clone().into(), &o, &h, &l, &c, None)
        .unwrap_err();
    assert_eq!(prop(&err, "column"), "spread");
    let mut bad = spread.clone();
    bad[17] = -1e-5;
    let err = input_for(json)
        .append_columns(ts.clone().into(), &o, &h, &l, &c, Some(bad))
        .unwrap_err();
    assert_eq!(
        (prop(&err, "row"), prop(&err, "column")),
        (17.into(), "spread".into())
    );
    let mut inp = input_for(json);
    inp.append_columns(ts.into(), &o, &h, &l, &c, Some(spread.clone()))
        .unwrap();
    let labeler = inp.finish().unwrap();
    let bytes = labeler.label("T5_S10_H30".into()).unwrap();
    let (schema, _) = fxlabel::read_label_file(&bytes).unwrap();
    assert_eq!(schema.field(7).name(), "long_uniqueness");
    // The same bytes as the core over the same settings.
    let opts = Options::from_json(serde_json::from_str(json).unwrap(), Spelling::Camel).unwrap();
    let p = opts.validate(Spelling::Camel).unwrap();
    let mut b = CandlesBuilder::new();
    b.expect(p.needs());
    b.push_columns_with(&tsv, &o, &h, &l, &c, Some(&spread))
        .unwrap();
    let core = fxlabel::Labeler::new(b.finish().unwrap(), p).unwrap();
    let cfg = core.config("T5_S10_H30").unwrap();
    assert_eq!(
        bytes,
        fxlabel::encode_config(&core, &cfg, &opts.encode).unwrap()
    );
}
