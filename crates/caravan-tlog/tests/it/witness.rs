//! C2SP tlog-witness: the spec's request and response bodies, and every refusal of the
//! pure add-checkpoint decision with its HTTP status, including split views.

use caravan_tlog::checkpoint::{Checkpoint, SignedCheckpoint};
use caravan_tlog::cosignature::{CosignatureError, CosignatureSigner, parse_cosignature_bytes};
use caravan_tlog::note::{Ed25519Signer, VerifierList};
use caravan_tlog::rfc6962::{EMPTY_ROOT, MemoryTree};
use caravan_tlog::witness::{
    AddCheckpointRequest, MAX_PROOF_LINES, RequestError, SplitViewKind, WitnessRefusal,
    WitnessedLog, add_checkpoint, add_checkpoint_body, parse_add_checkpoint_response,
};

use crate::vector;

#[test]
fn c2sp_request_example_parses_and_reencodes() {
    let body = vector("c2sp-tlog-witness-add-checkpoint-request.txt");
    let req = AddCheckpointRequest::parse(body.as_bytes()).unwrap();
    assert_eq!(req.old_size, 20852014);
    assert_eq!(req.proof.len(), 4);
    assert_eq!(req.checkpoint.checkpoint.size, 20852163);
    assert_eq!(req.checkpoint.note.signatures.len(), 2);
    assert_eq!(req.encode(), body.as_bytes());
}

#[test]
fn c2sp_response_example() {
    let body = vector("c2sp-tlog-witness-add-checkpoint-response.txt");
    let sigs = parse_add_checkpoint_response(body.as_bytes()).unwrap();
    assert_eq!(sigs.len(), 3);
    let out: String = sigs.iter().map(|s| s.to_line()).collect();
    assert_eq!(out, body);
    let mut out_of_range = 0;
    for s in &sigs {
        let mut raw = s.key_id.to_be_bytes().to_vec();
        raw.extend_from_slice(&s.signature);
        assert_eq!(raw.len(), 76);
        if let Err(CosignatureError::TimestampOutOfRange(_)) = parse_cosignature_bytes(&raw) {
            out_of_range += 1;
        }
    }
    // The spec's example bytes are illustrative: two carry timestamps > 2^63-1.
    assert_eq!(out_of_range, 2);
}

#[test]
fn malformed_requests() {
    let cp = "o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n\u{2014} o AAAAAAAA\n";
    let h = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
    for (body, want) in [
        (format!("old 01\n\n{cp}"), RequestError::BadOldLine),
        (format!("old -1\n\n{cp}"), RequestError::BadOldLine),
        (format!("old  1\n\n{cp}"), RequestError::BadOldLine),
        (format!("new 1\n\n{cp}"), RequestError::BadOldLine),
        (
            format!("old 1\nAAAA\n\n{cp}"),
            RequestError::BadProofLine(1),
        ),
        (
            format!("old 1\n{}\n{cp}", h.repeat(MAX_PROOF_LINES + 1)),
            RequestError::TooManyProofLines,
        ),
        ("old 1\n".to_owned(), RequestError::MissingSeparator),
    ] {
        assert_eq!(
            AddCheckpointRequest::parse(body.as_bytes()),
            Err(want),
            "{body:?}"
        );
    }
    let ok = format!("old 1\n{}\n{cp}", h.repeat(MAX_PROOF_LINES));
    assert_eq!(
        AddCheckpointRequest::parse(ok.as_bytes())
            .unwrap()
            .proof
            .len(),
        63
    );
    assert!(matches!(
        AddCheckpointRequest::parse(b"old 1\n\no\n01\n"),
        Err(RequestError::Checkpoint(_))
    ));
    assert!(matches!(
        AddCheckpointRequest::parse(&vec![b'a'; 2 << 20]),
        Err(RequestError::TooLarge(_))
    ));
}

struct World {
    tree: MemoryTree,
    log: Ed25519Signer,
    logs: VerifierList,
    witness: CosignatureSigner,
}

const ORIGIN: &str = "caravan.example/log";

impl World {
    fn new() -> Self {
        let log = Ed25519Signer::from_seed(ORIGIN, &[3; 32]).unwrap();
        let logs = VerifierList::new().with(log.verifier()).unwrap();
        let mut tree = MemoryTree::new();
        for i in 0..100u32 {
            tree.append(&i.to_be_bytes());
        }
        Self {
            tree,
            log,
            logs,
            witness: CosignatureSigner::from_seed("w.example", &[4; 32]).unwrap(),
        }
    }
    fn checkpoint(&self, size: u64) -> SignedCheckpoint {
        Checkpoint::new(ORIGIN, size, self.tree.root_at(size).unwrap())
            .sign(&[&self.log])
            .unwrap()
    }
    fn request(&self, old: u64, size: u64) -> AddCheckpointRequest {
        AddCheckpointRequest {
            old_size: old,
            proof: self.tree.consistency_proof(old, size).unwrap(),
            checkpoint: self.checkpoint(size),
        }
    }
    fn add(
        &self,
        state: &WitnessedLog,
        req: &AddCheckpointRequest,
    ) -> Result<WitnessedLog, WitnessRefusal> {
        add_checkpoint(state, req, &self.logs, 1_700_000_000, &self.witness).map(|c| c.state)
    }
}

#[test]
fn witness_state_machine() {
    let w = World::new();
    let s0 = WitnessedLog::new(ORIGIN);
    // First contact: old 0, no proof.
    let first = add_checkpoint_body(
        &s0,
        &w.request(0, 10).encode(),
        &w.logs,
        1_700_000_000,
        &w.witness,
    )
    .unwrap();
    assert_eq!(
        (first.state.size, first.state.root),
        (10, w.tree.root_at(10).unwrap())
    );
    // The returned cosignature verifies when appended to the checkpoint.
    let mut cp = w.checkpoint(10);
    cp.add_signatures(parse_add_checkpoint_response(first.response_body().as_bytes()).unwrap());
    let wl = VerifierList::new().with(w.witness.verifier()).unwrap();
    let (_, opened) = SignedCheckpoint::open(&cp.to_bytes(), &wl).unwrap();
    assert_eq!(opened.verified[0].timestamp, Some(1_700_000_000));

    let s10 = first.state;
    let s60 = w.add(&s10, &w.request(10, 60)).unwrap();
    assert_eq!(s60.size, 60);
    // Re-witnessing the same checkpoint is fine.
    assert_eq!(w.add(&s60, &w.request(60, 60)).unwrap(), s60);

    // 409: stale old size, body = current size.
    let e = w.add(&s60, &w.request(10, 70)).unwrap_err();
    assert_eq!(e.status(), 409);
    assert_eq!(e.body(), Some(("text/x.tlog.size", "60\n".to_owned())));
    assert_eq!(w.add(&s60, &w.request(0, 70)).unwrap_err().status(), 409);
    // 400: old larger than the checkpoint.
    let mut r = w.request(60, 60);
    r.old_size = 61;
    assert_eq!(w.add(&s60, &r).unwrap_err().status(), 400);
    // 400: malformed body.
    let e = add_checkpoint_body(&s60, b"old x\n", &w.logs, 1, &w.witness).unwrap_err();
    assert_eq!(e.status(), 400);
    // 404: unknown origin.
    assert_eq!(
        w.add(&WitnessedLog::new("other.example/log"), &w.request(0, 5))
            .unwrap_err()
            .status(),
        404
    );
    // 403: signed by an unknown key, or a bad signature by the known key.
    let stranger = Ed25519Signer::from_seed(ORIGIN, &[9; 32]).unwrap();
    let mut r = w.request(60, 70);
    r.checkpoint = r.checkpoint.checkpoint.sign(&[&stranger]).unwrap();
    assert_eq!(w.add(&s60, &r).unwrap_err().status(), 403);
    let mut r = w.request(60, 70);
    r.checkpoint.note.signatures[0].signature[0] ^= 1;
    assert_eq!(w.add(&s60, &r).unwrap_err().status(), 403);
    // 422: wrong proof length (plain invalid proof).
    let mut r = w.request(60, 70);
    r.proof.pop();
    let e = w.add(&s60, &r).unwrap_err();
    assert_eq!((e.status(), e.split_view().is_none()), (422, true));
    // 422: non-empty proof from size 0.
    let mut r = w.request(0, 70);
    r.proof.push(EMPTY_ROOT);
    assert_eq!(w.add(&s0, &r).unwrap_err().status(), 422);
    // 422: size 0 with a non-empty root.
    let r = AddCheckpointRequest {
        old_size: 0,
        proof: vec![],
        checkpoint: Checkpoint::new(ORIGIN, 0, [1; 32]).sign(&[&w.log]).unwrap(),
    };
    assert_eq!(w.add(&s0, &r).unwrap_err().status(), 422);
}

#[test]
fn split_views_are_alarms() {
    let w = World::new();
    let s60 = w
        .add(&WitnessedLog::new(ORIGIN), &w.request(0, 60))
        .unwrap();
    // A signed checkpoint of the cosigned size with another root.
    let forked = Checkpoint::new(ORIGIN, 60, [0xaa; 32])
        .sign(&[&w.log])
        .unwrap();
    for old in [60, 0] {
        let r = AddCheckpointRequest {
            old_size: old,
            proof: vec![],
            checkpoint: forked.clone(),
        };
        let e = w.add(&s60, &r).unwrap_err();
        let sv = e.split_view().expect("alarm");
        assert_eq!(sv.kind, SplitViewKind::SameSizeDifferentRoot);
        assert_eq!(sv.cosigned, s60);
        assert_eq!(e.status(), 409);
    }
    // A signed larger checkpoint whose proof does not connect to our state.
    let mut other = MemoryTree::new();
    for i in 0..80u32 {
        other.append(&(i + 1000).to_be_bytes());
    }
    let r = AddCheckpointRequest {
        old_size: 60,
        proof: other.consistency_proof(60, 80).unwrap(),
        checkpoint: Checkpoint::new(ORIGIN, 80, other.root())
            .sign(&[&w.log])
            .unwrap(),
    };
    let e = w.add(&s60, &r).unwrap_err();
    assert_eq!(e.status(), 422);
    assert_eq!(
        e.split_view().unwrap().kind,
        SplitViewKind::InconsistentProof
    );
    // A tampered proof for an honest checkpoint raises the alarm too.
    let mut r = w.request(60, 80);
    r.proof[0][0] ^= 1;
    assert_eq!(
        w.add(&s60, &r).unwrap_err().split_view().unwrap().kind,
        SplitViewKind::InconsistentProof
    );
}

#[test]
fn bad_clock_is_refused() {
    let w = World::new();
    let r = w.request(0, 5);
    let e = add_checkpoint(&WitnessedLog::new(ORIGIN), &r, &w.logs, 0, &w.witness).unwrap_err();
    assert_eq!(e.status(), 500);
}
