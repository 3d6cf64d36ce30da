//! The index-file reader never panics: any bytes are an index or a refusal with a code.
//! The input is sealed here (magic in front, its SHA-256 behind) so the fuzzer reaches the
//! record decoder instead of stopping at the seal every time.
#![no_main]

use caravan_screen::index::ScreenIndex;
use libfuzzer_sys::fuzz_target;
use sha2::{Digest, Sha256};

fuzz_target!(|data: &[u8]| {
    let mut sealed = b"CRVNSIX1".to_vec();
    sealed.extend_from_slice(data);
    let digest = Sha256::digest(&sealed);
    sealed.extend_from_slice(&digest);
    for bytes in [data, &sealed[..]] {
        match ScreenIndex::from_file_bytes(bytes) {
            Ok(index) => assert_eq!(
                ScreenIndex::from_file_bytes(&index.to_file_bytes()).map(|i| i.names.len()),
                Ok(index.names.len())
            ),
            Err(e) => assert!(e.code.starts_with("index_")),
        }
    }
});
