#![no_main]
//! See fuzz/README.md.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    synack::fuzzing::pcapng_reader(data);
});
