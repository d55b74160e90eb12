use fxlabel::*;
use std::time::Instant;
fn main() {
    let c = synth::columns(1_000_000, 1);
    for weights in [false, true] {
        let p = Params { weights, ..Params::default() }.validate().unwrap();
        let mut b = CandlesBuilder::new();
        b.expect(&p);
        b.push_columns(&c.ts, &c.open, &c.high, &c.low, &c.close).unwrap();
        let l = Labeler::new(b.finish().unwrap(), p).unwrap();
        let cfgs: Vec<Config> = l.configs().iter().step_by(7).copied().collect();
        let t = Instant::now();
        let mut s = 0u64;
        for cfg in &cfgs { l.for_each_row(cfg, 0..l.rows(), |_, a, _| s += a.map_or(0, |o| o.exit_offset as u64)).unwrap(); }
        let pass = t.elapsed().as_secs_f64();
        let t = Instant::now();
        if weights { for cfg in &cfgs { for r in (0..l.rows()).step_by(1<<18) { let (a, _) = l.uniqueness(cfg, r..(r + (1<<18)).min(l.rows())).unwrap(); s += a.len() as u64; } } }
        let u = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let opts = EncodeOptions::default();
        for cfg in &cfgs { s += encode_config(&l, cfg, &opts).unwrap().len() as u64; }
        let enc = t.elapsed().as_secs_f64();
        println!("weights {weights}: {} configs: pass {pass:.2}s uniqueness {u:.2}s encode(all) {enc:.2}s  {s}", cfgs.len());
    }
}
