//! Integration tests: quant.
