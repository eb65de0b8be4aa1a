//! Every GGUF metadata key we read, written once (llama.cpp's `LLM_KV_NAMES`). Per-architecture
//! hyperparameters are `{arch}.<suffix>`: build them with [`arch_key`].

pub const GENERAL_ARCHITECTURE: &str = "general.architecture";
pub const GENERAL_ALIGNMENT: &str = "general.alignment";
pub const GENERAL_NAME: &str = "general.name";
pub const GENERAL_FILE_TYPE: &str = "general.file_type";

/// Suffixes of `{arch}.*` keys.
pub mod hp {
    pub const CONTEXT_LENGTH: &str = "context_length";
    pub const EMBEDDING_LENGTH: &str = "embedding_length";
    pub const BLOCK_COUNT: &str = "block_count";
    pub const FEED_FORWARD_LENGTH: &str = "feed_forward_length";
    pub const HEAD_COUNT: &str = "attention.head_count";
    pub const HEAD_COUNT_KV: &str = "attention.head_count_kv";
    pub const KEY_LENGTH: &str = "attention.key_length";
    pub const VALUE_LENGTH: &str = "attention.value_length";
    pub const LAYER_NORM_RMS_EPS: &str = "attention.layer_norm_rms_epsilon";
    pub const SLIDING_WINDOW: &str = "attention.sliding_window";
    pub const ROPE_DIMENSION_COUNT: &str = "rope.dimension_count";
    pub const ROPE_FREQ_BASE: &str = "rope.freq_base";
    pub const ROPE_SCALING_TYPE: &str = "rope.scaling.type";
    pub const ROPE_SCALING_FACTOR: &str = "rope.scaling.factor";
    pub const VOCAB_SIZE: &str = "vocab_size";
}

pub const TOKENIZER_MODEL: &str = "tokenizer.ggml.model";
pub const TOKENIZER_PRE: &str = "tokenizer.ggml.pre";
pub const TOKENIZER_TOKENS: &str = "tokenizer.ggml.tokens";
pub const TOKENIZER_SCORES: &str = "tokenizer.ggml.scores";
pub const TOKENIZER_TOKEN_TYPE: &str = "tokenizer.ggml.token_type";
pub const TOKENIZER_MERGES: &str = "tokenizer.ggml.merges";
pub const TOKENIZER_BOS_ID: &str = "tokenizer.ggml.bos_token_id";
pub const TOKENIZER_EOS_ID: &str = "tokenizer.ggml.eos_token_id";
pub const TOKENIZER_EOT_ID: &str = "tokenizer.ggml.eot_token_id";
pub const TOKENIZER_EOM_ID: &str = "tokenizer.ggml.eom_token_id";
pub const TOKENIZER_UNK_ID: &str = "tokenizer.ggml.unknown_token_id";
pub const TOKENIZER_SEP_ID: &str = "tokenizer.ggml.seperator_token_id";
pub const TOKENIZER_PAD_ID: &str = "tokenizer.ggml.padding_token_id";
pub const TOKENIZER_ADD_BOS: &str = "tokenizer.ggml.add_bos_token";
pub const TOKENIZER_ADD_EOS: &str = "tokenizer.ggml.add_eos_token";
pub const TOKENIZER_ADD_SPACE_PREFIX: &str = "tokenizer.ggml.add_space_prefix";
pub const TOKENIZER_CHAT_TEMPLATE: &str = "tokenizer.chat_template";

/// `{arch}.{suffix}`, e.g. `arch_key("llama", hp::HEAD_COUNT)` = `llama.attention.head_count`.
pub fn arch_key(arch: &str, suffix: &str) -> String {
    format!("{arch}.{suffix}")
}

/// llama.cpp's `llama_ftype` names for `general.file_type` (the quantization of the bulk of
/// the weights: "Q4_K_M" files mix Q4_K, Q6_K, ...).
pub fn file_type_name(id: u32) -> Option<&'static str> {
    Some(match id {
        0 => "F32",
        1 => "F16",
        2 => "Q4_0",
        3 => "Q4_1",
        7 => "Q8_0",
        8 => "Q5_0",
        9 => "Q5_1",
        10 => "Q2_K",
        11 => "Q3_K_S",
        12 => "Q3_K_M",
        13 => "Q3_K_L",
        14 => "Q4_K_S",
        15 => "Q4_K_M",
        16 => "Q5_K_S",
        17 => "Q5_K_M",
        18 => "Q6_K",
        32 => "BF16",
        _ => return None,
    })
}
