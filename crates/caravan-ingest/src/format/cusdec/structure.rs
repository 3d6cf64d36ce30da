//! The CUSDEC segment-group trees and a validator that walks them segment by segment.
//!
//! The trees are the UN/EDIFACT directory facts (`schemas/edifact/cusdec_*_structure.txt`,
//! copied from the shared standards folder and embedded at compile time): one line per
//! segment or group, indented two spaces per level, `[M|C maxrepeat]`. They are parsed once
//! into an arena and shared. The validator is the usual EDIFACT state machine: a stack of
//! open groups, each remembering its current position and how often that position has
//! repeated. A segment is matched first in the innermost open group from the current
//! position on, then in each enclosing group; a group matches by its trigger (first)
//! segment. Mandatory positions skipped on the way are reported, as are repeats beyond the
//! maximum.

use std::collections::HashSet;
use std::sync::OnceLock;

const D96B_TEXT: &str = include_str!("../../../schemas/edifact/cusdec_D96B_structure.txt");
const D99B_TEXT: &str = include_str!("../../../schemas/edifact/cusdec_D99B_structure.txt");

/// One segment or group position in a message tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Segment tag (`LOC`) or group name (`SG30`); the root is `CUSDEC`.
    pub tag: &'static str,
    /// Whether this is a segment group.
    pub is_group: bool,
    /// `M` in the directory.
    pub mandatory: bool,
    /// Maximum repeat count.
    pub max: u32,
    /// Child positions (arena indices), in order.
    pub children: Vec<usize>,
}

/// A message's segment-group tree.
#[derive(Debug)]
pub struct Tree {
    /// Arena; index 0 is the root.
    pub nodes: Vec<Node>,
    tags: HashSet<&'static str>,
}

impl Tree {
    /// Parses a structure file. Lines that do not follow the format are skipped; a unit
    /// test pins the shape of both embedded trees, so a broken file fails the build's tests.
    pub fn parse(text: &'static str) -> Tree {
        let root = Node {
            tag: "CUSDEC",
            is_group: true,
            mandatory: true,
            max: 1,
            children: vec![],
        };
        let mut nodes = vec![root];
        let mut tags = HashSet::new();
        // Open groups by depth: stack[d] is the group that holds nodes of depth d.
        let mut stack: Vec<usize> = vec![0];
        for line in text.lines() {
            let depth = (line.len() - line.trim_start().len()) / 2;
            let Some((name, rest)) = line.trim().split_once(' ') else {
                continue;
            };
            let inner = rest.trim().trim_start_matches('[').trim_end_matches(']');
            let Some((status, max)) = inner.split_once(' ') else {
                continue;
            };
            let Ok(max) = max.trim().parse::<u32>() else {
                continue;
            };
            let is_group = name.starts_with("SG");
            let node = Node {
                tag: name,
                is_group,
                mandatory: status == "M",
                max,
                children: vec![],
            };
            let index = nodes.len();
            nodes.push(node);
            if !is_group {
                tags.insert(name);
            }
            stack.truncate(depth + 1);
            let Some(&parent) = stack.last() else {
                continue;
            };
            nodes[parent].children.push(index);
            if is_group {
                stack.push(index);
            }
        }
        Tree { nodes, tags }
    }

    /// Whether `tag` occurs anywhere in the tree.
    pub fn knows(&self, tag: &str) -> bool {
        self.tags.contains(tag)
    }

    /// The segment tag that opens position `index`: the segment itself, or a group's
    /// first segment.
    pub fn trigger(&self, mut index: usize) -> &'static str {
        loop {
            let node = &self.nodes[index];
            match (node.is_group, node.children.first()) {
                (true, Some(&first)) => index = first,
                _ => return node.tag,
            }
        }
    }

    /// The node of group `name` (e.g. `SG30`), for tests and error messages.
    pub fn group(&self, name: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.is_group && n.tag == name)
    }
}

/// The CUSDEC D96B tree.
pub fn d96b() -> &'static Tree {
    static TREE: OnceLock<Tree> = OnceLock::new();
    TREE.get_or_init(|| Tree::parse(D96B_TEXT))
}

/// The CUSDEC D99B tree (larger SG30 and SG21 repeats, GIS and LOC in SG21).
pub fn d99b() -> &'static Tree {
    static TREE: OnceLock<Tree> = OnceLock::new();
    TREE.get_or_init(|| Tree::parse(D99B_TEXT))
}

/// Why a segment does not fit the tree where it appears.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    /// The tag occurs nowhere in the message.
    Unknown,
    /// The tag exists but not at this point.
    Unexpected,
    /// A mandatory segment or group (named) was skipped.
    MissingMandatory(&'static str),
    /// The named position would repeat more than its maximum.
    TooManyRepeats { position: &'static str, max: u32 },
}

#[derive(Debug, Clone, Copy)]
struct Frame {
    node: usize,
    pos: usize,
    count: u32,
}

/// Where an accepted segment sits: the outermost and innermost open groups (`""` at
/// message level).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Placement {
    pub top: &'static str,
    pub inner: &'static str,
}

/// Walks one message through a [`Tree`].
#[derive(Debug)]
pub struct Validator {
    tree: &'static Tree,
    stack: Vec<Frame>,
}

impl Validator {
    /// Starts before the message's first segment (`UNH`).
    pub fn new(tree: &'static Tree) -> Validator {
        Validator {
            tree,
            stack: vec![Frame {
                node: 0,
                pos: 0,
                count: 0,
            }],
        }
    }

    fn first_unchecked(frame: &Frame) -> usize {
        if frame.count > 0 {
            frame.pos + 1
        } else {
            frame.pos
        }
    }

    fn missing_in(&self, frame: &Frame, end: usize) -> Option<&'static str> {
        let children = &self.tree.nodes[frame.node].children;
        let start = Validator::first_unchecked(frame);
        children
            .get(start..end)?
            .iter()
            .map(|&c| &self.tree.nodes[c])
            .find(|n| n.mandatory)
            .map(|n| n.tag)
    }

    /// Accepts the next segment's tag, or says why it does not fit.
    pub fn accept(&mut self, tag: &str) -> Result<Placement, Violation> {
        let tree = self.tree;
        let mut full: Option<usize> = None;
        let mut found: Option<(usize, usize)> = None;
        'frames: for depth in (0..self.stack.len()).rev() {
            let frame = self.stack[depth];
            let children = &tree.nodes[frame.node].children;
            for (i, &child) in children.iter().enumerate().skip(frame.pos) {
                if tree.trigger(child) != tag {
                    continue;
                }
                let count = if i == frame.pos { frame.count } else { 0 };
                if count < tree.nodes[child].max {
                    found = Some((depth, i));
                    break 'frames;
                }
                full.get_or_insert(child);
            }
        }
        let Some((depth, index)) = found else {
            return Err(match full {
                Some(n) => Violation::TooManyRepeats {
                    position: tree.nodes[n].tag,
                    max: tree.nodes[n].max,
                },
                None if tree.knows(tag) => Violation::Unexpected,
                None => Violation::Unknown,
            });
        };
        for frame in self.stack[depth + 1..].iter().rev() {
            let len = tree.nodes[frame.node].children.len();
            if let Some(missing) = self.missing_in(frame, len) {
                return Err(Violation::MissingMandatory(missing));
            }
        }
        if let Some(missing) = self.missing_in(&self.stack[depth], index) {
            return Err(Violation::MissingMandatory(missing));
        }
        self.stack.truncate(depth + 1);
        let frame = &mut self.stack[depth];
        if frame.pos == index {
            frame.count += 1;
        } else {
            frame.pos = index;
            frame.count = 1;
        }
        let mut node = tree.nodes[frame.node].children[index];
        while tree.nodes[node].is_group {
            self.stack.push(Frame {
                node,
                pos: 0,
                count: 1,
            });
            match tree.nodes[node].children.first() {
                Some(&first) => node = first,
                None => break,
            }
        }
        let group = |f: Option<&Frame>| {
            f.filter(|f| f.node != 0)
                .map_or("", |f| tree.nodes[f.node].tag)
        };
        Ok(Placement {
            top: group(self.stack.get(1)),
            inner: group(self.stack.last()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_trees_have_the_directory_shape() {
        let t = d96b();
        let root = &t.nodes[0];
        assert_eq!(t.nodes[root.children[0]].tag, "UNH");
        assert_eq!(t.nodes[*root.children.last().unwrap()].tag, "UNT");
        assert_eq!(t.group("SG30").unwrap().max, 9999);
        assert_eq!(d99b().group("SG30").unwrap().max, 99999);
        assert_eq!(t.group("SG41").unwrap().children.len(), 3);
        assert_eq!(t.nodes.len(), 201 + 1);
        assert_eq!(d99b().nodes.len(), 203 + 1);
    }

    #[test]
    fn walks_groups_and_reports_missing_mandatory() {
        let mut v = Validator::new(d96b());
        for tag in [
            "UNH", "BGM", "LOC", "LOC", "RFF", "NAD", "RFF", "UNS", "CST", "MOA", "CUX",
        ] {
            v.accept(tag).unwrap();
        }
        assert_eq!(
            v.accept("CST").unwrap(),
            Placement {
                top: "SG30",
                inner: "SG30"
            }
        );
        assert_eq!(v.accept("UNT"), Err(Violation::MissingMandatory("UNS")));
        let mut v = Validator::new(d96b());
        v.accept("UNH").unwrap();
        assert_eq!(v.accept("LOC"), Err(Violation::MissingMandatory("BGM")));
        assert_eq!(v.accept("XYZ"), Err(Violation::Unknown));
        v.accept("BGM").unwrap();
        assert_eq!(
            v.accept("BGM"),
            Err(Violation::TooManyRepeats {
                position: "BGM",
                max: 1
            })
        );
        v.accept("UNS").unwrap();
        assert_eq!(v.accept("TPL"), Err(Violation::Unexpected));
    }
}
