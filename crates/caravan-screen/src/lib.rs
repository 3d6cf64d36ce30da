//! Caravan's screening engine: parties against sanctions and lookout lists, aware of how
//! Uzbek and Russian names are spelt in Latin letters.
//!
//! Pure by design (spec `screening.md`): parsers take bytes, the engine takes parsed lists
//! and parties and returns ranked, explained hits. Downloading, storing dispositions and
//! reading the clock happen at the edge; the engine never decides, an officer does.
//!
//! ```
//! use caravan_screen::score::{name_similarity, ScoreConfig};
//! let config = ScoreConfig::default();
//! let score = name_similarity("Хайдаров Шуҳрат", "Shukhrat Khaydarov", &config);
//! assert!(score > 0.85, "{score}");
//! ```

pub mod country;
pub mod delta;
pub mod disposition;
pub mod error;
pub mod eval;
pub mod index;
pub mod index_file;
pub mod legal_form;
pub mod model;
pub mod normalize;
pub mod parse;
pub mod resolve;
pub mod score;
pub mod screen;
pub mod stored;
pub mod translit;
