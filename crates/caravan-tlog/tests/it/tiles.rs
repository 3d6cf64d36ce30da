//! C2SP tlog-tiles: path encoding and strict parsing, tile coverage, tile bytes and entry
//! bundles, against the spec's examples.

use caravan_tlog::rfc6962::{HashReader, MemoryTree, NodeId};
use caravan_tlog::tiles::{
    EntryBundleId, TileDataError, TileId, TilePath, TilePathError, decode_entry_bundle,
    edge_tiles_for_size, encode_entry_bundle, encode_index, entry_bundles_for_size, parse_path,
    parse_tile_bytes, tiles_for_size,
};

#[track_caller]
fn check_path(path: &str, want: TilePath) {
    assert_eq!(parse_path(path), Ok(want), "{path}");
    let back = match want {
        TilePath::Hash(t) => t.path(),
        TilePath::Entries(e) => e.path(),
    };
    assert_eq!(back, path);
}

#[test]
fn spec_path_examples() {
    assert_eq!(encode_index(1234067), "x001/x234/067");
    assert_eq!(encode_index(0), "000");
    assert_eq!(encode_index(999), "999");
    assert_eq!(encode_index(1000), "x001/000");
    assert_eq!(encode_index(u64::MAX), "x018/x446/x744/x073/x709/x551/615");
    check_path(
        "tile/0/x001/x234/067",
        TilePath::Hash(TileId::full(0, 1234067)),
    );
    check_path(
        "tile/2/x001/x234/067.p/8",
        TilePath::Hash(TileId {
            level: 2,
            index: 1234067,
            width: 8,
        }),
    );
    check_path(
        "tile/entries/x001/x234/067",
        TilePath::Entries(EntryBundleId {
            index: 1234067,
            width: 256,
        }),
    );
    check_path(
        "tile/entries/000.p/1",
        TilePath::Entries(EntryBundleId { index: 0, width: 1 }),
    );
    check_path("tile/63/000", TilePath::Hash(TileId::full(63, 0)));
}

/// golang.org/x/mod/sumdb/tlog tile paths (`tile/H/L/N[.p/W]`), with the
/// height segment dropped to give tlog-tiles paths; Go's data tiles (L = -1)
/// become entry bundles.
#[test]
fn go_sumdb_tile_path_vectors() {
    let v = crate::json("go-mod-sumdb-vectors.json");
    for case in v["tlog_tile_paths"].as_array().unwrap() {
        let go = case["path"].as_str().unwrap();
        let hlnw = case["tile_HLNW"].as_str().unwrap();
        let segs: Vec<&str> = go.splitn(4, '/').collect();
        let ours = if segs[2] == "data" {
            format!("tile/entries/{}", segs[3])
        } else {
            format!("tile/{}/{}", segs[2], segs[3])
        };
        if hlnw.is_empty() {
            assert!(parse_path(&ours).is_err(), "{ours} must be rejected");
            continue;
        }
        let f: Vec<i64> = hlnw.split(", ").map(|x| x.parse().unwrap()).collect();
        let (h, l, n, w) = (f[0], f[1], f[2] as u64, f[3]);
        let partial = w < (1 << h);
        let width = if partial { w as u16 } else { 256 };
        let want = if l < 0 {
            TilePath::Entries(EntryBundleId { index: n, width })
        } else {
            TilePath::Hash(TileId {
                level: l as u8,
                index: n,
                width,
            })
        };
        check_path(&ours, want);
    }
}

#[test]
fn non_canonical_paths_are_rejected() {
    use TilePathError::*;
    for (p, e) in [
        ("tiles/0/000", NotATile),
        ("tile/00/000", BadLevel),
        ("tile/64/000", BadLevel),
        ("tile/-1/000", BadLevel),
        ("tile/+1/000", BadLevel),
        ("tile/0/00", BadIndex),
        ("tile/0/0000", BadIndex),
        ("tile/0/x000/001", BadIndex),
        ("tile/0/001/002", BadIndex),
        ("tile/0/x001", BadIndex),
        ("tile/0/x001/x002", BadIndex),
        ("tile/0/", BadIndex),
        ("tile/0/00a", BadIndex),
        ("tile/0/000.p/0", BadWidth),
        ("tile/0/000.p/256", BadWidth),
        ("tile/0/000.p/08", BadWidth),
        ("tile/0/000.p/", BadWidth),
        ("tile/0/000.p", BadIndex),
        ("tile/0/000.q/5", BadIndex),
        ("tile/0/x018/x446/x744/x073/x709/x551/616", IndexOverflow),
        ("tile/entries/x000/001", BadIndex),
        ("tile/entries/001.p/300", BadWidth),
    ] {
        assert_eq!(parse_path(p), Err(e), "{p}");
    }
}

#[test]
fn tiles_cover_a_tree_as_the_spec_says() {
    // "a tree of size 70,000 will be represented by 273 full level 0 tiles,
    // one partial level 0 tile of width 112, one full level 1 tile, one
    // partial level 1 tile of width 17, and one partial level 2 tile of
    // width 1."
    let tiles = tiles_for_size(70_000);
    let count = |l: u8, full: bool| {
        tiles
            .iter()
            .filter(|t| t.level == l && t.is_full() == full)
            .count()
    };
    assert_eq!(count(0, true), 273);
    assert_eq!(count(1, true), 1);
    assert_eq!(count(2, true), 0);
    let partial: Vec<_> = tiles.iter().filter(|t| !t.is_full()).copied().collect();
    assert_eq!(
        partial,
        vec![
            TileId {
                level: 0,
                index: 273,
                width: 112
            },
            TileId {
                level: 1,
                index: 1,
                width: 17
            },
            TileId {
                level: 2,
                index: 0,
                width: 1
            },
        ]
    );
    // "a tree of size 256 will be represented by a full level 0 tile and a
    // partial level 1 tile of width 1."
    assert_eq!(
        tiles_for_size(256),
        vec![
            TileId::full(0, 0),
            TileId {
                level: 1,
                index: 0,
                width: 1
            }
        ]
    );
    assert!(tiles_for_size(0).is_empty());
    assert_eq!(edge_tiles_for_size(70_000), partial);
    assert_eq!(entry_bundles_for_size(513).len(), 3);
    assert_eq!(
        entry_bundles_for_size(513)[2],
        EntryBundleId { index: 2, width: 1 }
    );
}

#[test]
fn tile_bytes_come_from_stored_nodes() {
    let mut t = MemoryTree::new();
    for i in 0..70_000u32 {
        t.append(&i.to_be_bytes());
    }
    for tile in tiles_for_size(t.size()) {
        let bytes = tile.build(&t).unwrap();
        assert_eq!(bytes.len(), 32 * usize::from(tile.width));
        let hashes = parse_tile_bytes(&bytes, tile.width).unwrap();
        let first = tile.node_ids().next().unwrap();
        assert_eq!(first, NodeId::new(tile.level * 8, tile.index * 256));
        assert_eq!(hashes[0], t.node(first.level, first.index).unwrap());
    }
    // Level-1 tile hash i is the root of full level-0 tile i.
    let l1 = parse_tile_bytes(
        &TileId {
            level: 1,
            index: 0,
            width: 2,
        }
        .build(&t)
        .unwrap(),
        2,
    )
    .unwrap();
    let l0 = parse_tile_bytes(&TileId::full(0, 1).build(&t).unwrap(), 256).unwrap();
    assert_eq!(l1[1], caravan_tlog::rfc6962::root_from_leaf_hashes(&l0));
    assert!(matches!(
        parse_tile_bytes(&[0; 33], 1),
        Err(TileDataError::WrongTileLength { .. })
    ));
}

#[test]
fn entry_bundles_round_trip() {
    let entries: Vec<Vec<u8>> = vec![vec![], b"a".to_vec(), vec![7; 65_535]];
    let b = encode_entry_bundle(&entries).unwrap();
    assert_eq!(&b[..5], &[0, 0, 0, 1, b'a']);
    assert_eq!(
        decode_entry_bundle(&b).unwrap(),
        entries.iter().map(Vec::as_slice).collect::<Vec<_>>()
    );
    assert_eq!(
        encode_entry_bundle(&[vec![0u8; 65_536]]),
        Err(TileDataError::EntryTooLarge(65_536))
    );
    assert_eq!(
        decode_entry_bundle(&[0, 2, 1]),
        Err(TileDataError::Truncated)
    );
    assert_eq!(decode_entry_bundle(&[0]), Err(TileDataError::Truncated));
    let too_many = vec![vec![1u8]; 257];
    assert_eq!(
        encode_entry_bundle(&too_many),
        Err(TileDataError::TooManyEntries(257))
    );
}
