//! Every WGSL shader in shaders/ parses and validates with naga (no GPU needed), and each
//! uniform struct's size equals its Rust twin's in `backend::gpu::shaders::params`.

use naga::valid::{Capabilities, ValidationFlags, Validator};
use wasm_chord_core::backend::gpu::shaders::{all_sources, params};

fn parse(name: &str, src: &str) -> naga::Module {
    naga::front::wgsl::parse_str(src)
        .unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(src)))
}

#[test]
fn every_shader_parses_and_validates() {
    let sources = all_sources();
    assert!(sources.len() >= 30, "only {} shaders", sources.len());
    for (name, src) in &sources {
        let module = parse(name, src);
        // What core WebGPU guarantees: `unpack2x16float` (f16 values held in f32), no `f16`
        // type, no subgroups, no 64-bit types.
        Validator::new(
            ValidationFlags::all(),
            Capabilities::SHADER_FLOAT16_IN_FLOAT32,
        )
        .validate(&module)
        .unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(src)));
    }
}

#[test]
fn uniform_structs_match_their_rust_twins() {
    let sources = all_sources();
    for (shader, struct_name, rust_size) in params::STRUCTS {
        let (_, src) = sources
            .iter()
            .find(|(n, _)| n == shader)
            .unwrap_or_else(|| panic!("no shader {shader}"));
        let module = parse(shader, src);
        let span = module
            .types
            .iter()
            .find_map(|(_, t)| match &t.inner {
                naga::TypeInner::Struct { span, .. } if t.name.as_deref() == Some(struct_name) => {
                    Some(*span as usize)
                }
                _ => None,
            })
            .unwrap_or_else(|| panic!("{shader}: no struct {struct_name}"));
        assert_eq!(
            span, rust_size,
            "{shader}: {struct_name} is {span} bytes in WGSL"
        );
    }
}
