//! ggml's tiled flash attention (the one-row `head_flash_tiled` of `attention.rs`, step for
//! step) for many query rows at once: every query head of one KV head over a group of tokens.
//!
//! The one-row kernel widens each cached key and value from f16 again for every query row,
//! and runs one score's fused multiply-add chain at a time. Here each 64-key tile is widened
//! once for the whole group, with K transposed so that 64 keys' chains advance together in the
//! lanes of a few vectors, and V is summed in register-sized slices over the tile's keys.
//! Every score, probability and V sum sees the same operations in the same order as in the
//! one-row kernel, so results are bit-identical to it.

use super::attention::{AttnShape, KvView, FLASH_KV_TILE as TILE};
use crate::backend::cpu::fma_fn;
use crate::backend::cpu::ops::{exp_sub_inplace, fma_axpy, scale_inplace};

/// One query row: its head's query, the key positions it sees, where its result goes.
pub(super) struct QueryRow<'a> {
    pub q: &'a [f32],
    pub range: std::ops::Range<usize>,
    pub out: &'a mut [f32],
}

/// V values summed per pass, as one slice of registers.
const V_SLICE: usize = 64;

/// `s[j] = fma chain over d of q[d]·K[j][d]`, from 0 in element order, for the 64 keys of a
/// transposed tile (`kt[d * TILE + j]`): one score chain per lane.
#[inline(always)]
fn tile_scores(q: &[f32], kt: &[f32]) -> [f32; TILE] {
    let mut s = [0.0f32; TILE];
    for (&qd, k) in q.iter().zip(kt.chunks_exact(TILE)) {
        for (sl, &kl) in s.iter_mut().zip(k) {
            *sl = qd.mul_add(kl, *sl);
        }
    }
    s
}

/// `acc[i] = fma(p[j], v[j][i], acc[i])` for the keys `js` in order (`v` rows of `acc.len()`
/// values, indexed from the tile start): per element the same chain as one `fma_axpy` per key.
#[inline(always)]
fn tile_v_sum(acc: &mut [f32], p: &[f32; TILE], vt: &[f32], js: std::ops::Range<usize>) {
    let hdv = acc.len();
    let (slices, tail) = acc.split_at_mut(hdv - hdv % V_SLICE);
    for (c, a_mem) in slices.chunks_exact_mut(V_SLICE).enumerate() {
        let mut a = [0.0f32; V_SLICE];
        a.copy_from_slice(a_mem);
        for j in js.clone() {
            let v = &vt[j * hdv + c * V_SLICE..j * hdv + (c + 1) * V_SLICE];
            for (al, &vl) in a.iter_mut().zip(v) {
                *al = p[j].mul_add(vl, *al);
            }
        }
        a_mem.copy_from_slice(&a);
    }
    let off = hdv - tail.len();
    for j in js {
        fma_axpy(tail, p[j], &vt[j * hdv + off..(j + 1) * hdv]);
    }
}

fma_fn! {
    /// Tiled flash attention of `rows` (f32 queries of one KV head), bit-identical per row to
    /// `head_flash_tiled`.
    pub(super) fn flash_tiled_rows(kv: &KvView<'_>, sh: AttnShape, kvh: usize, rows: &mut [QueryRow<'_>]) {
        let (hd, hdv) = (sh.head_dim, sh.head_dim_v);
        let Some(lo) = rows.iter().map(|r| r.range.start).min() else { return };
        let hi = rows.iter().map(|r| r.range.end).max().unwrap_or(lo);
        let mut acc = vec![0.0f32; rows.len() * hdv];
        let mut max = vec![f32::NEG_INFINITY; rows.len()];
        let mut sum = vec![0.0f32; rows.len()];
        // Cells no row sees keep older values; their lanes' scores are never read (masked).
        let mut kt = vec![0.0f32; hd * TILE];
        let mut vt = vec![0.0f32; TILE * hdv];
        let mut krow = vec![0.0f32; hd];
        for t0 in (lo / TILE * TILE..hi).step_by(TILE) {
            let needed = lo.max(t0)..hi.min(t0 + TILE);
            for j in needed {
                kv.k_into(j, kvh, &mut krow);
                for (d, &k) in krow.iter().enumerate() {
                    kt[d * TILE + (j - t0)] = k;
                }
                kv.v_into(j, kvh, &mut vt[(j - t0) * hdv..(j - t0 + 1) * hdv]);
            }
            for (i, row) in rows.iter_mut().enumerate() {
                let r = &row.range;
                if t0 < r.start / TILE * TILE || t0 >= r.end {
                    continue;
                }
                let visible = r.start.max(t0) - t0..r.end.min(t0 + TILE) - t0;
                let s = tile_scores(row.q, &kt);
                let mut p = [f32::NEG_INFINITY; TILE];
                for j in visible.clone() {
                    p[j] = s[j] * sh.scale;
                }
                let acc = &mut acc[i * hdv..(i + 1) * hdv];
                let tile_max = p.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let new_max = max[i].max(tile_max);
                if new_max > max[i] {
                    let ms = (max[i] - new_max).exp();
                    scale_inplace(acc, ms);
                    sum[i] *= ms;
                }
                max[i] = new_max;
                exp_sub_inplace(&mut p, new_max);
                let mut tile_sum = 0.0f64;
                for g in p.chunks_exact(8) {
                    let h = [g[4] + g[0], g[5] + g[1], g[6] + g[2], g[7] + g[3]];
                    tile_sum += ((h[0] + h[2]) + (h[1] + h[3])) as f64;
                }
                sum[i] = (sum[i] as f64 + tile_sum) as f32;
                tile_v_sum(acc, &p, &vt, visible);
            }
        }
        for ((row, acc), &sum) in rows.iter_mut().zip(acc.chunks_exact(hdv)).zip(&sum) {
            let inv = if sum == 0.0 { 0.0 } else { 1.0 / sum };
            for (o, a) in row.out.iter_mut().zip(acc) {
                *o = a * inv;
            }
        }
    }
}
