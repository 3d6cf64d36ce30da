//! The model file: a trained classifier, an optional revenue regressor and metadata (the
//! features' protocol, the evaluation), with a versioned header and a SHA-256 trailer.
//!
//! A node serves whatever model file it is given, so the decoder trusts nothing: a wrong
//! magic, another format version, a checksum mismatch, a count larger than the bytes that
//! follow, a node pointing outside its tree or back up it, or trailing bytes each refuse the
//! whole file with its own error. Version bumps are deliberate: an old binary refuses a newer
//! file instead of misreading it.

use sha2::{Digest, Sha256};

use crate::gbdt::{Model, Node, Objective, Tree};

/// File magic.
pub const MAGIC: &[u8; 21] = b"CARAVAN-TARGET-MODEL\n";
/// Current format version.
pub const VERSION: u32 = 1;

/// Everything a model file holds.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelFile {
    /// Free key/value metadata (protocol, training window, evaluation figures).
    pub metadata: Vec<(String, String)>,
    /// p(fraud).
    pub classifier: Model,
    /// E[revenue | fraud], same features as the classifier.
    pub revenue: Option<Model>,
}

impl ModelFile {
    /// Metadata value by key.
    pub fn meta(&self, key: &str) -> Option<&str> {
        self.metadata
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Why a model file was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    /// Not a Caravan model file.
    #[error("MODEL_MAGIC: not a Caravan targeting model file")]
    Magic,
    /// Written by an incompatible version.
    #[error("MODEL_VERSION: format version {found} is not supported (this build reads {VERSION})")]
    Version {
        /// Version in the file.
        found: u32,
    },
    /// Shorter than its header says.
    #[error("MODEL_TRUNCATED: the file ends early")]
    Truncated,
    /// The checksum does not match: the file is corrupt.
    #[error("MODEL_CHECKSUM: SHA-256 mismatch, the file is corrupt")]
    Checksum,
    /// The content is inconsistent.
    #[error("MODEL_INVALID: {0}")]
    Invalid(String),
}

/// Wraps a body in the header and checksum (what [`encode`] does after writing the body);
/// public so tests and fuzzers can build well-sealed files around arbitrary bodies.
pub fn seal(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 65);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&(body.len() as u64).to_le_bytes());
    out.extend_from_slice(body);
    let digest = Sha256::digest(&out);
    out.extend_from_slice(&digest);
    out
}

/// Encodes a model file.
pub fn encode(file: &ModelFile) -> Vec<u8> {
    let mut body = Vec::new();
    put_u32(&mut body, file.metadata.len() as u32);
    for (k, v) in &file.metadata {
        put_str(&mut body, k);
        put_str(&mut body, v);
    }
    body.push(u8::from(file.revenue.is_some()));
    put_model(&mut body, &file.classifier);
    if let Some(rev) = &file.revenue {
        put_model(&mut body, rev);
    }
    seal(&body)
}

/// Decodes and checks a model file.
pub fn decode(bytes: &[u8]) -> Result<ModelFile, DecodeError> {
    if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
        return Err(DecodeError::Magic);
    }
    let rest = &bytes[MAGIC.len()..];
    if rest.len() < 12 {
        return Err(DecodeError::Truncated);
    }
    let version = u32::from_le_bytes(rest[..4].try_into().map_err(|_| DecodeError::Truncated)?);
    if version != VERSION {
        return Err(DecodeError::Version { found: version });
    }
    let body_len = u64::from_le_bytes(rest[4..12].try_into().map_err(|_| DecodeError::Truncated)?);
    let header = MAGIC.len() + 12;
    let expected = (header as u64)
        .checked_add(body_len)
        .and_then(|n| n.checked_add(32));
    match expected {
        Some(n) if n == bytes.len() as u64 => {}
        Some(n) if n > bytes.len() as u64 => return Err(DecodeError::Truncated),
        _ => return Err(DecodeError::Invalid("bytes after the checksum".into())),
    }
    let end = header + body_len as usize;
    if Sha256::digest(&bytes[..end]).as_slice() != &bytes[end..] {
        return Err(DecodeError::Checksum);
    }
    let mut c = Cursor {
        bytes: &bytes[header..end],
    };
    let n_meta = c.count(8)?;
    let mut metadata = Vec::with_capacity(n_meta);
    for _ in 0..n_meta {
        metadata.push((c.string()?, c.string()?));
    }
    let has_revenue = match c.u8()? {
        0 => false,
        1 => true,
        _ => return Err(invalid("revenue flag must be 0 or 1")),
    };
    let classifier = c.model()?;
    if classifier.objective != Objective::Logistic {
        return Err(invalid("the classifier must be logistic"));
    }
    let revenue = if has_revenue {
        let rev = c.model()?;
        if rev.feature_names != classifier.feature_names {
            return Err(invalid(
                "the revenue model's features differ from the classifier's",
            ));
        }
        Some(rev)
    } else {
        None
    };
    if !c.bytes.is_empty() {
        return Err(invalid("bytes after the last model"));
    }
    Ok(ModelFile {
        metadata,
        classifier,
        revenue,
    })
}

fn invalid(message: &str) -> DecodeError {
    DecodeError::Invalid(message.to_owned())
}

fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_u32(out, s.len() as u32);
    out.extend_from_slice(s.as_bytes());
}

fn put_model(out: &mut Vec<u8>, m: &Model) {
    out.push(match m.objective {
        Objective::Logistic => 0,
        Objective::SquaredError => 1,
    });
    out.extend_from_slice(&m.base_score.to_le_bytes());
    put_u32(out, m.feature_names.len() as u32);
    for name in &m.feature_names {
        put_str(out, name);
    }
    put_u32(out, m.trees.len() as u32);
    for tree in &m.trees {
        put_u32(out, tree.nodes.len() as u32);
        for n in &tree.nodes {
            put_u32(out, n.feature);
            out.extend_from_slice(&n.threshold.to_le_bytes());
            out.push(u8::from(n.default_left));
            put_u32(out, n.left);
            put_u32(out, n.right);
            out.extend_from_slice(&n.value.to_le_bytes());
        }
    }
}

const NODE_BYTES: usize = 21;

struct Cursor<'a> {
    bytes: &'a [u8],
}

impl Cursor<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], DecodeError> {
        if self.bytes.len() < n {
            return Err(invalid("a field runs past the end of the body"));
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Ok(head)
    }
    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<u32, DecodeError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn f32(&mut self) -> Result<f32, DecodeError> {
        Ok(f32::from_bits(self.u32()?))
    }
    fn f64(&mut self) -> Result<f64, DecodeError> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(f64::from_le_bytes(a))
    }
    /// A count of items each at least `min_size` bytes, checked against what is left.
    fn count(&mut self, min_size: usize) -> Result<usize, DecodeError> {
        let n = self.u32()? as usize;
        if n.saturating_mul(min_size) > self.bytes.len() {
            return Err(invalid("a count exceeds the bytes that follow"));
        }
        Ok(n)
    }
    fn string(&mut self) -> Result<String, DecodeError> {
        let n = self.count(1)?;
        let b = self.take(n)?;
        String::from_utf8(b.to_vec()).map_err(|_| invalid("a string is not UTF-8"))
    }
    fn model(&mut self) -> Result<Model, DecodeError> {
        let objective = match self.u8()? {
            0 => Objective::Logistic,
            1 => Objective::SquaredError,
            _ => return Err(invalid("unknown objective")),
        };
        let base_score = self.f64()?;
        if !base_score.is_finite() {
            return Err(invalid("base score is not finite"));
        }
        let n_features = self.count(4)?;
        if n_features == 0 {
            return Err(invalid("a model needs at least one feature"));
        }
        let mut feature_names = Vec::with_capacity(n_features);
        for _ in 0..n_features {
            feature_names.push(self.string()?);
        }
        let n_trees = self.count(4 + NODE_BYTES)?;
        let mut trees = Vec::with_capacity(n_trees);
        for t in 0..n_trees {
            let n_nodes = self.count(NODE_BYTES)?;
            if n_nodes == 0 {
                return Err(DecodeError::Invalid(format!("tree {t} has no nodes")));
            }
            let mut nodes = Vec::with_capacity(n_nodes);
            let mut parents = vec![0u32; n_nodes];
            for i in 0..n_nodes {
                let node = Node {
                    feature: self.u32()?,
                    threshold: self.f32()?,
                    default_left: match self.u8()? {
                        0 => false,
                        1 => true,
                        _ => return Err(invalid("default direction must be 0 or 1")),
                    },
                    left: self.u32()?,
                    right: self.u32()?,
                    value: self.f32()?,
                };
                let bad = |what: &str| DecodeError::Invalid(format!("tree {t}, node {i}: {what}"));
                if !node.value.is_finite() {
                    return Err(bad("value is not finite"));
                }
                if node.is_leaf() {
                    if node.right != 0 {
                        return Err(bad("a leaf has a right child"));
                    }
                } else {
                    if node.feature as usize >= n_features {
                        return Err(bad("feature index out of range"));
                    }
                    if node.threshold.is_nan() {
                        return Err(bad("threshold is NaN"));
                    }
                    for child in [node.left, node.right] {
                        let c = child as usize;
                        if c <= i || c >= n_nodes {
                            return Err(bad("child index must follow its parent inside the tree"));
                        }
                        parents[c] += 1;
                    }
                }
                nodes.push(node);
            }
            if parents.iter().skip(1).any(|&p| p != 1) {
                return Err(DecodeError::Invalid(format!(
                    "tree {t}: every node but the root must have exactly one parent"
                )));
            }
            trees.push(Tree { nodes });
        }
        Ok(Model {
            objective,
            base_score,
            feature_names,
            trees,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ModelFile {
        let leaf = |value| Node {
            feature: 0,
            threshold: 0.0,
            default_left: false,
            left: 0,
            right: 0,
            value,
        };
        let tree = Tree {
            nodes: vec![
                Node {
                    feature: 1,
                    threshold: 2.5,
                    default_left: true,
                    left: 1,
                    right: 2,
                    value: 0.0,
                },
                leaf(-0.5),
                leaf(0.5),
            ],
        };
        let model = Model {
            objective: Objective::Logistic,
            base_score: -1.2,
            feature_names: vec!["a".into(), "b".into()],
            trees: vec![tree.clone(), tree],
        };
        ModelFile {
            metadata: vec![("protocol".into(), "controlled".into())],
            revenue: Some(Model {
                objective: Objective::SquaredError,
                base_score: 10.0,
                ..model.clone()
            }),
            classifier: model,
        }
    }

    #[test]
    fn round_trip() {
        let file = sample();
        let bytes = encode(&file);
        assert_eq!(decode(&bytes).unwrap(), file);
        assert_eq!(decode(&bytes).unwrap().meta("protocol"), Some("controlled"));
    }

    #[test]
    fn refuses_corrupt_and_foreign_files() {
        let bytes = encode(&sample());
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0x01;
            assert!(decode(&b).is_err(), "flipping byte {i} was accepted");
        }
        let mut v2 = bytes.clone();
        v2[MAGIC.len()] = 2;
        assert_eq!(decode(&v2), Err(DecodeError::Version { found: 2 }));
        assert_eq!(
            decode(&bytes[..bytes.len() - 1]),
            Err(DecodeError::Truncated)
        );
        assert_eq!(decode(b"hello"), Err(DecodeError::Magic));
        let mut extra = bytes.clone();
        extra.push(0);
        assert!(matches!(decode(&extra), Err(DecodeError::Invalid(_))));
    }

    #[test]
    fn refuses_a_cycle_even_with_a_good_checksum() {
        let mut file = sample();
        file.classifier.trees[0].nodes[1].left = 0;
        file.classifier.trees[0].nodes[2] = Node {
            left: 1,
            right: 1,
            ..file.classifier.trees[0].nodes[0]
        };
        assert!(matches!(
            decode(&encode(&file)),
            Err(DecodeError::Invalid(_))
        ));
    }
}
