//! Fuzz the targeting model-file decoder: never panic on any bytes, and an accepted file
//! encodes back to the same bytes and can score a row without indexing out of bounds. The
//! input is tried as a whole file and as a body sealed with a valid header and checksum, so
//! mutations reach the structural checks behind the SHA-256.
#![no_main]
use caravan_target::gbdt::Scorer;
use caravan_target::model_file::{decode, encode, seal};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for bytes in [data.to_vec(), seal(data)] {
        if let Ok(file) = decode(&bytes) {
            assert_eq!(encode(&file), bytes);
            for model in std::iter::once(&file.classifier).chain(file.revenue.as_ref()) {
                let width = model.feature_names.len();
                let row = vec![f32::NAN; width];
                let _ = model.predict(&row);
                let _ = model.contributions(&row);
                let mut out = [0.0; 2];
                Scorer::new(model).score_rows(&[row.clone(), vec![0.0; width]].concat(), width, &mut out);
            }
        }
    }
});
