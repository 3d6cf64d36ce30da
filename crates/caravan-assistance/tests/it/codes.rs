//! Every refusal code is stable snake_case: scans each `impl …Error` block's `code()` strings
//! and the loader's and hit/no-hit's literal codes, so a new variant cannot slip in a code the
//! API's error table would not accept.

fn snake(code: &str) -> bool {
    !code.is_empty()
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !code.starts_with('_')
        && !code.ends_with('_')
        && !code.contains("__")
}

fn literals(block: &str) -> Vec<&str> {
    block.split('"').skip(1).step_by(2).collect()
}

#[test]
fn every_refusal_code_is_snake_case() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src");
    let mut checked = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        for (start, _) in text.match_indices("pub fn code(&self) -> &'static str {") {
            let header = &text[..start];
            let in_error_impl = header.rfind("\nimpl ").is_some_and(|i| {
                header[i + 1..]
                    .lines()
                    .next()
                    .unwrap_or("")
                    .contains("Error")
            });
            if !in_error_impl {
                continue;
            }
            let body = &text[start..];
            let end = body.find("\n    }\n").unwrap();
            for code in literals(&body[..end]) {
                assert!(snake(code), "{}: {code:?}", path.display());
                checked += 1;
            }
        }
        // The agreement loader passes its codes to `ctx.err`; they all start `agreement_`.
        for code in literals(&text)
            .into_iter()
            .filter(|l| l.starts_with("agreement_") && !l.contains(" "))
        {
            assert!(snake(code), "{}: {code:?}", path.display());
            checked += 1;
        }
        for marker in ["code: \"", "Refused { code: \""] {
            for (i, _) in text.match_indices(marker) {
                let rest = &text[i + marker.len()..];
                let code = &rest[..rest.find('"').unwrap()];
                assert!(snake(code), "{}: {code:?}", path.display());
                checked += 1;
            }
        }
    }
    assert!(
        checked > 100,
        "only {checked} codes found: the scan is broken"
    );
}
