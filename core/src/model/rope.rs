//! Rotary position embedding. Two pairings, as ggml's rope modes: `Norm` rotates adjacent
//! pairs (x[2i], x[2i+1]) (llama), `Neox` rotates (x[i], x[i + n_rot/2]) (gemma, qwen, ...).

use crate::backend::cpu::fma_fn;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RopeStyle {
    Norm,
    Neox,
}

#[derive(Debug, Clone)]
pub struct Rope {
    pub style: RopeStyle,
    pub n_rot: usize,
    /// θ_{i+1} = θ_i · theta_scale, θ_0 = pos (ggml's iterative angle schedule)
    theta_scale: f32,
    /// Linear position scaling (ggml's freq_scale), applied to each θ_i.
    freq_scale: f32,
}

impl Rope {
    pub fn new(style: RopeStyle, n_rot: usize, freq_base: f32) -> Rope {
        Rope {
            style,
            n_rot,
            theta_scale: freq_base.powf(-2.0 / n_rot as f32),
            freq_scale: 1.0,
        }
    }

    /// Linear position scaling: θ = freq_scale · pos · base^(-2i / n_rot).
    pub fn with_freq_scale(mut self, freq_scale: f32) -> Rope {
        self.freq_scale = freq_scale;
        self
    }

    /// θ_{i+1} / θ_i.
    pub fn theta_scale(&self) -> f32 {
        self.theta_scale
    }

    /// The linear position scaling applied to each θ_i.
    pub fn freq_scale(&self) -> f32 {
        self.freq_scale
    }

    /// The `(cos, sin)` of the n_rot/2 angles for position `pos`, into `cos_sin`.
    ///
    /// Angles and rotation follow ggml's f32 operation order exactly (θ by repeated
    /// multiplication, the first product of each rotated output fused): rotated Q and K then
    /// match llama.cpp bit for bit, which keeps near-tie tokens on llama.cpp's side.
    pub fn angles(&self, pos: usize, cos_sin: &mut Vec<(f32, f32)>) {
        cos_sin.clear();
        let mut theta = pos as f32;
        for _ in 0..self.n_rot / 2 {
            let t = self.freq_scale * theta;
            cos_sin.push((t.cos(), t.sin()));
            theta *= self.theta_scale;
        }
    }

    /// Rotates every head of `x` ([n_heads, head_dim]) by angles from [`Rope::angles`].
    pub fn rotate(&self, x: &mut [f32], head_dim: usize, cos_sin: &[(f32, f32)]) {
        rotate_heads(self.style, x, head_dim, cos_sin);
    }
}

fma_fn! {
    fn rotate_heads(style: RopeStyle, x: &mut [f32], head_dim: usize, cos_sin: &[(f32, f32)]) {
        let half = cos_sin.len();
        for head in x.chunks_exact_mut(head_dim) {
            for (i, &(c, s)) in cos_sin.iter().enumerate() {
                let (a, b) = match style {
                    RopeStyle::Norm => (2 * i, 2 * i + 1),
                    RopeStyle::Neox => (i, i + half),
                };
                let (x0, x1) = (head[a], head[b]);
                head[a] = x0.mul_add(c, -(x1 * s));
                head[b] = x0.mul_add(s, x1 * c);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rope_at_position_zero_is_identity_and_preserves_norm() {
        let rope = Rope::new(RopeStyle::Neox, 8, 10_000.0);
        let orig: Vec<f32> = (0..16).map(|i| i as f32 - 7.5).collect();
        let mut x = orig.clone();
        let mut cs = Vec::new();
        rope.angles(0, &mut cs);
        rope.rotate(&mut x, 8, &cs);
        assert_eq!(x, orig);
        rope.angles(123, &mut cs);
        rope.rotate(&mut x, 8, &cs);
        let n0: f32 = orig.iter().map(|v| v * v).sum();
        let n1: f32 = x.iter().map(|v| v * v).sum();
        assert!((n0 - n1).abs() < 1e-3 * n0);
    }
}
