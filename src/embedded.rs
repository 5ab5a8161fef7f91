//! The files embedded in the binary, listed by `build.rs`: page templates, assets, the message
//! catalogues and the traveler message templates, so `cargo run` works from any directory with
//! nothing but the binary.

include!(concat!(env!("OUT_DIR"), "/embedded.rs"));
