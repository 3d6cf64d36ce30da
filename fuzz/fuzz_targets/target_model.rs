//! Fuzz the targeting model-file decoder: never panic on any bytes, and an accepted file
//! encodes back to the same bytes and can score a row without indexing out of bounds. The
//! input is tried as a whole file and as a body sealed with a valid header and checksum, so
//! mutations reach the structural checks behind the SHA-256. A node serves whatever model
//! its registry holds, so an accepted file also goes through `Ranker::from_file` (the
//! feature vocabulary in its metadata), which must refuse or build, never panic, and a
//! built ranker scores a row with missing fields.
#![no_main]
use caravan_target::eval::Ranker;
use caravan_target::gbdt::Scorer;
use caravan_target::model_file::{decode, encode, seal};
use caravan_target::record::TargetRecord;
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
                Scorer::new(model).score_rows(
                    &[row.clone(), vec![0.0; width]].concat(),
                    width,
                    &mut out,
                );
            }
            if let Ok(ranker) = Ranker::from_file(file) {
                let row = TargetRecord {
                    id: "x/1".into(),
                    ..TargetRecord::default()
                };
                assert!(ranker.score(&[], &[row], 1).is_ok());
            }
        }
    }
});
