//! Integration tests: sample. Every stage is checked against a plain reference computed here
//! (full sort, explicit softmax, the llama.cpp formulas written out), never against saved output.

use wasm_chord_core::sample::{
    min_p, top_k, top_p, Candidates, Sampler, SamplerParams, DEFAULT_SEED,
};
use wasm_chord_core::Error;

/// Small deterministic test-data generator (Knuth's MMIX LCG), independent of the sampler's RNG.
struct Lcg(u64);

impl Lcg {
    fn next_f32(&mut self) -> f32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 40) as f32 / (1u64 << 24) as f32
    }

    fn logits(&mut self, n: usize, scale: f32) -> Vec<f32> {
        (0..n).map(|_| (self.next_f32() - 0.5) * scale).collect()
    }
}

/// Reference softmax in f64.
fn softmax(logits: &[f32]) -> Vec<f64> {
    let max = logits.iter().cloned().fold(f32::NEG_INFINITY, f32::max) as f64;
    let e: Vec<f64> = logits.iter().map(|&l| (l as f64 - max).exp()).collect();
    let s: f64 = e.iter().sum();
    e.iter().map(|x| x / s).collect()
}

/// Reference order: ids by descending logit, ties by ascending id (full sort).
fn sorted_ids(logits: &[f32]) -> Vec<u32> {
    let mut ids: Vec<u32> = (0..logits.len() as u32).collect();
    ids.sort_by(|&a, &b| {
        logits[b as usize]
            .partial_cmp(&logits[a as usize])
            .unwrap()
            .then(a.cmp(&b))
    });
    ids
}

/// Logits whose softmax is exactly `probs` (up to rounding).
fn logits_of(probs: &[f64]) -> Vec<f32> {
    probs.iter().map(|p| p.ln() as f32).collect()
}

fn no_filters(temperature: f32, seed: u64) -> SamplerParams {
    SamplerParams {
        temperature,
        top_k: 0,
        top_p: 1.0,
        min_p: 0.0,
        seed,
        ..SamplerParams::greedy()
    }
}

#[test]
fn sample_defaults_are_llama_cpp_common_defaults() {
    // common/common.h `common_params_sampling`.
    let p = SamplerParams::default();
    assert_eq!(
        (p.temperature, p.top_k, p.top_p, p.min_p),
        (0.8, 40, 0.95, 0.05)
    );
    assert_eq!(
        (p.repeat_penalty, p.frequency_penalty, p.presence_penalty),
        (1.0, 0.0, 0.0)
    );
    assert_eq!(p.penalty_last_n, 64);
    assert_eq!(p.seed, DEFAULT_SEED);
}

#[test]
fn sample_greedy_equals_argmax_on_random_logits() {
    let mut gen = Lcg(1);
    let mut s = Sampler::new(SamplerParams::greedy()).unwrap();
    for round in 0..50 {
        let mut logits = gen.logits(5000, 20.0);
        if round % 5 == 0 {
            // Force a tie between two positions: the lower id must win.
            let m = logits.iter().cloned().fold(f32::MIN, f32::max) + 1.0;
            logits[4000] = m;
            logits[1234] = m;
        }
        let mut best = 0usize;
        for (i, &l) in logits.iter().enumerate() {
            if l > logits[best] {
                best = i;
            }
        }
        assert_eq!(s.sample(&logits), best as u32, "round {round}");
    }
}

#[test]
fn sample_top_k_keeps_the_k_largest_sorted() {
    let mut gen = Lcg(2);
    for &(n, k) in &[(10usize, 3i32), (1000, 40), (257, 256), (50, 50), (50, 80)] {
        let logits = gen.logits(n, 10.0);
        let mut c = Candidates::from_logits(&logits);
        top_k(&mut c, k, 1);
        let reference: Vec<u32> = sorted_ids(&logits).into_iter().take(k as usize).collect();
        assert_eq!(c.ids(), reference, "n {n} k {k}");
        assert!(c.sorted);
    }
    // k <= 0 is off.
    let logits = gen.logits(20, 1.0);
    let mut c = Candidates::from_logits(&logits);
    top_k(&mut c, 0, 1);
    assert_eq!(c.data.len(), 20);
}

#[test]
fn sample_top_p_keeps_the_smallest_set_reaching_p() {
    let probs = [0.1, 0.5, 0.05, 0.25, 0.1];
    let logits = logits_of(&probs);
    for &p in &[0.3f32, 0.6, 0.8, 0.88, 0.97, 0.0] {
        // Reference: walk ids by descending probability until the mass reaches p (>= 1 kept).
        let order = sorted_ids(&logits);
        let mut cum = 0.0;
        let mut expected = Vec::new();
        for &id in &order {
            cum += probs[id as usize];
            expected.push(id);
            if cum >= p as f64 {
                break;
            }
        }
        let mut c = Candidates::from_logits(&logits);
        top_p(&mut c, p, 1);
        assert_eq!(c.ids(), expected, "p {p}");
    }
    // By hand for one case: 0.5 + 0.25 = 0.75 < 0.8 <= 0.85, so {1, 3, 0}.
    let mut c = Candidates::from_logits(&logits);
    top_p(&mut c, 0.8, 1);
    assert_eq!(c.ids(), vec![1, 3, 0]);
    // p = 1 is off.
    let mut c = Candidates::from_logits(&logits);
    top_p(&mut c, 1.0, 1);
    assert_eq!(c.data.len(), 5);
}

#[test]
fn sample_min_p_drops_tokens_below_p_times_the_best() {
    let probs = [0.1, 0.5, 0.05, 0.25, 0.1];
    let logits = logits_of(&probs);
    for &mp in &[0.05f32, 0.15, 0.3, 0.45, 0.9] {
        let expected: Vec<u32> = (0..5u32)
            .filter(|&i| probs[i as usize] >= mp as f64 * 0.5)
            .collect();
        // Unsorted input: survivors keep id order.
        let mut c = Candidates::from_logits(&logits);
        min_p(&mut c, mp, 1);
        assert_eq!(c.ids(), expected, "min_p {mp}");
        // Sorted input: same set.
        let mut c = Candidates::from_logits(&logits);
        c.sort();
        min_p(&mut c, mp, 1);
        let mut ids = c.ids();
        ids.sort();
        assert_eq!(ids, expected, "min_p {mp} sorted");
    }
}

#[test]
fn sample_temperature_divides_logits_after_the_filters() {
    // Chain order: top_p sees untempered probabilities, temperature comes last.
    let probs = [0.1, 0.5, 0.05, 0.25, 0.1];
    let logits = logits_of(&probs);
    let params = SamplerParams {
        temperature: 2.5,
        top_p: 0.8,
        ..no_filters(2.5, 1)
    };
    let mut s = Sampler::new(params).unwrap();
    let c = s.candidates(&logits);
    assert_eq!(c.ids(), vec![1, 3, 0]);
    for d in &c.data {
        assert_eq!(d.logit, logits[d.id as usize] / 2.5);
    }
}

#[test]
fn sample_penalties_follow_the_llama_cpp_formula() {
    let (repeat, freq, presence) = (1.3f32, 0.2f32, 0.7f32);
    let last_n = 4;
    let params = SamplerParams {
        repeat_penalty: repeat,
        frequency_penalty: freq,
        presence_penalty: presence,
        penalty_last_n: last_n,
        ..SamplerParams::greedy()
    };
    let mut s = Sampler::new(params).unwrap();
    // Token 9 falls out of the 4-token window; 5 is seen twice, 2 and 7 once.
    let history = [9u32, 5, 2, 5, 7];
    for &t in &history {
        s.accept(t);
    }
    let logits = [0.5f32, -1.0, 2.0, 0.0, 1.0, 3.0, -0.5, -2.0, 4.0, 1.5];
    let got: Vec<f32> = {
        let c = s.candidates(&logits);
        assert_eq!(c.data.len(), logits.len());
        c.data.iter().map(|d| d.logit).collect()
    };
    let window = &history[history.len() - last_n..];
    for (id, &l) in logits.iter().enumerate() {
        let count = window.iter().filter(|&&t| t as usize == id).count() as f32;
        let expected = if count == 0.0 {
            l
        } else {
            let r = if l <= 0.0 { l * repeat } else { l / repeat };
            r - (count * freq + presence)
        };
        assert_eq!(got[id], expected, "token {id}");
    }
    // The penalised argmax: token 8 (4.0) is untouched and wins over 5 (3.0 -> lower).
    assert_eq!(s.sample(&logits), 8);
    // reset() clears the window.
    s.reset();
    let c = s.candidates(&logits);
    assert!(c.data.iter().zip(logits).all(|(d, l)| d.logit == l));
}

#[test]
fn sample_same_seed_same_sequence_different_seed_differs() {
    let mut gen = Lcg(3);
    let rows: Vec<Vec<f32>> = (0..64).map(|_| gen.logits(2000, 6.0)).collect();
    let run = |seed: u64| -> Vec<u32> {
        let mut s = Sampler::new(SamplerParams {
            seed,
            repeat_penalty: 1.1,
            ..SamplerParams::default()
        })
        .unwrap();
        rows.iter()
            .map(|r| {
                let t = s.sample(r);
                s.accept(t);
                t
            })
            .collect()
    };
    let a = run(42);
    assert_eq!(a, run(42));
    assert_ne!(a, run(43));
    // reset() replays the sequence from the seed.
    let mut s = Sampler::new(SamplerParams {
        seed: 42,
        repeat_penalty: 1.1,
        ..SamplerParams::default()
    })
    .unwrap();
    for _ in 0..2 {
        let seq: Vec<u32> = rows
            .iter()
            .map(|r| {
                let t = s.sample(r);
                s.accept(t);
                t
            })
            .collect();
        assert_eq!(seq, a);
        s.reset();
    }
}

/// Pearson chi-square of observed counts against expected probabilities.
fn chi_square(counts: &[u64], probs: &[f64], n: u64) -> f64 {
    counts
        .iter()
        .zip(probs)
        .map(|(&o, &p)| {
            let e = p * n as f64;
            (o as f64 - e).powi(2) / e
        })
        .sum()
}

#[test]
fn sample_frequencies_match_softmax_over_temperature() {
    let logits = [1.0f32, 2.0, 0.5, 3.0, -1.0, 2.5];
    let t = 0.7f32;
    let scaled: Vec<f32> = logits.iter().map(|l| l / t).collect();
    let probs = softmax(&scaled);
    let n = 200_000u64;
    let mut s = Sampler::new(no_filters(t, 7)).unwrap();
    let mut counts = vec![0u64; logits.len()];
    for _ in 0..n {
        counts[s.sample(&logits) as usize] += 1;
    }
    // 5 degrees of freedom: P(chi2 > 25) ~ 1.4e-4.
    let chi2 = chi_square(&counts, &probs, n);
    assert!(
        chi2 < 25.0,
        "chi2 {chi2}, counts {counts:?}, probs {probs:?}"
    );
}

#[test]
fn sample_frequencies_after_top_k_are_renormalised() {
    let logits = [1.0f32, 2.0, 0.5, 3.0, -1.0, 2.5];
    let t = 1.3f32;
    let kept = [3usize, 5, 1];
    let scaled: Vec<f32> = kept.iter().map(|&i| logits[i] / t).collect();
    let probs = softmax(&scaled);
    let n = 100_000u64;
    let mut s = Sampler::new(SamplerParams {
        top_k: 3,
        ..no_filters(t, 11)
    })
    .unwrap();
    let mut counts = vec![0u64; logits.len()];
    for _ in 0..n {
        counts[s.sample(&logits) as usize] += 1;
    }
    for (i, &c) in counts.iter().enumerate() {
        if !kept.contains(&i) {
            assert_eq!(c, 0, "token {i} was cut by top_k");
        }
    }
    let kept_counts: Vec<u64> = kept.iter().map(|&i| counts[i]).collect();
    let chi2 = chi_square(&kept_counts, &probs, n);
    // 2 degrees of freedom: P(chi2 > 20) ~ 4.5e-5.
    assert!(chi2 < 20.0, "chi2 {chi2}, counts {kept_counts:?}");
}

#[test]
fn sample_default_chain_on_full_gemma_vocab_stays_in_top_k() {
    let mut gen = Lcg(4);
    let n_vocab = 262_144;
    let mut s = Sampler::new(SamplerParams::default()).unwrap();
    for _ in 0..5 {
        let logits = gen.logits(n_vocab, 30.0);
        let top40: Vec<u32> = sorted_ids(&logits).into_iter().take(40).collect();
        let t = s.sample(&logits);
        assert!(top40.contains(&t));
        // min_p 0.05: the pick is at least 5% as likely as the best token.
        let best = logits[top40[0] as usize];
        assert!(logits[t as usize] >= best + 0.05f32.ln());
        s.accept(t);
    }
}

#[test]
fn sample_edge_rows_do_not_panic() {
    let mut s = Sampler::new(SamplerParams::default()).unwrap();
    assert_eq!(s.sample(&[]), 0);
    assert_eq!(s.sample(&[f32::NAN, 1.0, f32::NAN]), 1);
    let all_neg_inf = [f32::NEG_INFINITY; 4];
    assert!(s.sample(&all_neg_inf) < 4);
    s.accept(1_000_000); // out-of-vocab history entries are ignored
    let mut g = Sampler::new(SamplerParams {
        repeat_penalty: 2.0,
        penalty_last_n: 8,
        ..SamplerParams::greedy()
    })
    .unwrap();
    g.accept(1_000_000);
    assert_eq!(g.sample(&[0.0, 1.0]), 1);
}

#[test]
fn sample_validate_rejects_unusable_params() {
    let bad = [
        SamplerParams {
            temperature: f32::NAN,
            ..SamplerParams::default()
        },
        SamplerParams {
            top_p: 1.5,
            ..SamplerParams::default()
        },
        SamplerParams {
            top_p: -0.1,
            ..SamplerParams::default()
        },
        SamplerParams {
            min_p: f32::NAN,
            ..SamplerParams::default()
        },
        SamplerParams {
            repeat_penalty: 0.0,
            ..SamplerParams::default()
        },
        SamplerParams {
            frequency_penalty: f32::INFINITY,
            ..SamplerParams::default()
        },
    ];
    for p in bad {
        let err = Sampler::new(p.clone()).unwrap_err();
        assert!(matches!(err, Error::InvalidArgument { .. }), "{p:?}");
    }
    assert!(SamplerParams::default().validate().is_ok());
    assert!(SamplerParams::greedy().validate().is_ok());
}
