//! `caravan account …` and `caravan audit …`: the administrator's tools for who may use the
//! node, and the auditor's for what they did.
//!
//! Why tokens are printed once and never stored: the store keeps SHA-256 digests only, so
//! the administrator hands the printed secret to the officer and nobody, the node
//! included, can show it again. Every change made here is written to the audit trail
//! as the local operator (`cli:<OS user>`), so account changes are as traceable as the
//! officers' own actions.

use std::process::ExitCode;

use anyhow::{Context, bail};
use caravan_assistance::roles::Role;
use caravan_store::Store;
use caravan_store::access::{
    Account, ApiToken, AuditEvent, AuditOutcome, AuditQuery, verify_audit_chain,
};
use caravan_web::auth::{new_token_secret, now_ms, token_digest};

use crate::backend::open_store;
use crate::cli::{AccountCommand, AuditCommand};
use crate::config::Config;

/// The local operator as the audit trail names them.
fn operator() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into());
    format!("cli:{user}")
}

fn audit(
    store: &dyn Store,
    action: &str,
    object: &str,
    detail: serde_json::Value,
) -> anyhow::Result<()> {
    store
        .append_audit(&AuditEvent {
            at: now_ms(),
            account: operator(),
            role: "administrator".into(),
            action: action.into(),
            object: object.into(),
            outcome: AuditOutcome::Allowed,
            code: None,
            detail: detail.to_string(),
        })
        .context("write the audit trail")?;
    Ok(())
}

/// Parses a role code, listing the valid ones when it is not one.
pub(crate) fn parse_role(code: &str) -> anyhow::Result<Role> {
    Role::parse(code).with_context(|| {
        let all: Vec<&str> = Role::ALL.iter().map(|r| r.code()).collect();
        format!("unknown role {code:?}; one of: {}", all.join(", "))
    })
}

/// Checks an account name: what an officer would type, no spaces or control characters.
fn check_name(name: &str) -> anyhow::Result<()> {
    if !caravan_web::admin::valid_account_name(name) {
        bail!(
            "account name {name:?} must be 1-64 characters of letters, digits, '.', '_', '-' or '@'"
        );
    }
    Ok(())
}

/// Creates an account and issues its first token; returns the token secret.
pub(crate) fn create_with_token(
    store: &dyn Store,
    name: &str,
    display_name: &str,
    role: Role,
    label: &str,
) -> anyhow::Result<String> {
    check_name(name)?;
    let now = now_ms();
    store
        .create_account(&Account {
            name: name.into(),
            display_name: display_name.into(),
            role: role.code().into(),
            disabled: false,
            created_at: now,
        })
        .with_context(|| format!("create account {name}"))?;
    audit(
        store,
        "account.create",
        name,
        serde_json::json!({ "role": role.code(), "display_name": display_name }),
    )?;
    issue_token(store, name, label, None)
}

fn issue_token(
    store: &dyn Store,
    name: &str,
    label: &str,
    expires_at: Option<i64>,
) -> anyhow::Result<String> {
    let secret = new_token_secret().map_err(|e| anyhow::anyhow!("draw a random token: {e}"))?;
    store
        .add_api_token(&ApiToken {
            sha256: token_digest(&secret),
            account: name.into(),
            label: label.into(),
            created_at: now_ms(),
            expires_at,
            revoked_at: None,
        })
        .map_err(|err| match err {
            caravan_store::StoreError::NotFound => {
                anyhow::anyhow!("no enabled account named {name:?}")
            }
            other => anyhow::Error::new(other).context("store the token"),
        })?;
    audit(
        store,
        "account.token.issue",
        name,
        serde_json::json!({ "label": label, "expires_at": expires_at }),
    )?;
    Ok(secret)
}

pub(crate) fn run(config: &Config, command: AccountCommand) -> anyhow::Result<ExitCode> {
    let store = open_store(&config.store)?;
    match command {
        AccountCommand::Add(args) => {
            let role = parse_role(&args.role)?;
            let display = args.display_name.unwrap_or_else(|| args.name.clone());
            let secret = create_with_token(store.as_ref(), &args.name, &display, role, "cli")?;
            println!("account {} ({}) created", args.name, role.code());
            println!("token (shown once): {secret}");
        }
        AccountCommand::List => {
            println!(
                "{:<24} {:<14} {:<8} display name",
                "account", "role", "state"
            );
            for a in store.list_accounts()? {
                let state = if a.disabled { "disabled" } else { "enabled" };
                println!(
                    "{:<24} {:<14} {:<8} {}",
                    a.name, a.role, state, a.display_name
                );
            }
        }
        AccountCommand::Disable(args) | AccountCommand::Enable(args) if args.name.is_empty() => {
            bail!("an account name is required")
        }
        AccountCommand::Disable(args) => {
            store
                .set_account_disabled(&args.name, true)
                .map_err(|e| not_found(e, &args.name))?;
            audit(
                store.as_ref(),
                "account.disable",
                &args.name,
                serde_json::json!({}),
            )?;
            println!(
                "account {} disabled: its tokens and sessions are refused",
                args.name
            );
        }
        AccountCommand::Enable(args) => {
            store
                .set_account_disabled(&args.name, false)
                .map_err(|e| not_found(e, &args.name))?;
            audit(
                store.as_ref(),
                "account.enable",
                &args.name,
                serde_json::json!({}),
            )?;
            println!("account {} enabled", args.name);
        }
        AccountCommand::LinkOidc(args) => {
            let (issuer, subject) = (args.issuer.trim(), args.subject.trim());
            if !issuer.starts_with("https://") || issuer.len() > 512 {
                bail!("--issuer must be the provider's https:// issuer identifier");
            }
            if subject.is_empty() || subject.len() > 255 || subject.chars().any(char::is_control) {
                bail!("--subject must be 1–255 printable characters");
            }
            store
                .link_oidc(&args.name, issuer, subject, now_ms())
                .map_err(|e| not_found(e, &args.name))?;
            audit(
                store.as_ref(),
                "account.link_oidc",
                &args.name,
                serde_json::json!({ "issuer": issuer, "subject": subject }),
            )?;
            println!(
                "account {} linked to subject {subject:?} at {issuer}",
                args.name
            );
        }
        AccountCommand::Token(args) => {
            let expires_at = args
                .days
                .map(|d| now_ms().saturating_add(i64::from(d).saturating_mul(86_400_000)));
            let secret = issue_token(store.as_ref(), &args.name, &args.label, expires_at)?;
            println!("token (shown once): {secret}");
        }
        AccountCommand::Password(args) => {
            let password = read_password(&args.name)?;
            let phc = caravan_web::password::hash(&password)
                .map_err(|e| anyhow::anyhow!("password refused: {e}"))?;
            let now = now_ms();
            store
                .set_password(&args.name, &phc, args.initial, now)
                .map_err(|e| not_found(e, &args.name))?;
            if args.reset_totp {
                store.reset_totp(&args.name, now)?;
            }
            // A new password ends the account's browser sessions.
            let revoked = store.revoke_account_tokens(
                &args.name,
                Some(caravan_web::auth::SESSION_LABEL),
                now,
            )?;
            audit(
                store.as_ref(),
                "account.password.set",
                &args.name,
                serde_json::json!({
                    "initial": args.initial,
                    "totp_reset": args.reset_totp,
                    "sessions_revoked": revoked,
                }),
            )?;
            println!(
                "password of {} set{}",
                args.name,
                if args.initial {
                    " (to be changed at first sign-in)"
                } else {
                    ""
                }
            );
        }
        AccountCommand::Revoke(args) => {
            let digest = token_digest(args.token.trim());
            store
                .revoke_api_token(&digest, now_ms())
                .map_err(|e| match e {
                    caravan_store::StoreError::NotFound => {
                        anyhow::anyhow!("no such unrevoked token")
                    }
                    other => other.into(),
                })?;
            audit(
                store.as_ref(),
                "account.token.revoke",
                "",
                serde_json::json!({}),
            )?;
            println!("token revoked");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads a password from standard input: one line, without its line ending. A prompt goes
/// to standard error when standard input is a terminal; the password never appears in
/// argv, where `ps` and shell history would show it.
fn read_password(name: &str) -> anyhow::Result<String> {
    use std::io::{BufRead, IsTerminal, Write};
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("new password for {name} (input is shown; pipe it in to hide it): ");
        std::io::stderr().flush().ok();
    }
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .context("read the password from standard input")?;
    let password = line.trim_end_matches(['\n', '\r']).to_owned();
    if password.is_empty() {
        bail!("no password on standard input");
    }
    Ok(password)
}

fn not_found(err: caravan_store::StoreError, name: &str) -> anyhow::Error {
    match err {
        caravan_store::StoreError::NotFound => anyhow::anyhow!("no account named {name:?}"),
        other => other.into(),
    }
}

pub(crate) fn audit_run(config: &Config, command: AuditCommand) -> anyhow::Result<ExitCode> {
    let store = open_store(&config.store)?;
    match command {
        AuditCommand::List(args) => {
            let rows = store.list_audit(&AuditQuery {
                account: args.account,
                action_prefix: args.action,
                object: args.object,
                after_seq: args.after,
                limit: args.limit,
            })?;
            for r in rows {
                let e = &r.event;
                println!(
                    "{:>6} {} {:<20} {:<14} {:<28} {:<8} {:<24} {}",
                    r.seq,
                    e.at,
                    e.account,
                    e.role,
                    e.action,
                    e.outcome.as_str(),
                    e.object,
                    e.code.as_deref().unwrap_or("")
                );
            }
        }
        AuditCommand::Verify => {
            let mut after = None;
            let mut checked = 0u64;
            let mut last: Option<caravan_store::access::AuditRecord> = None;
            loop {
                let rows = store.list_audit(&AuditQuery {
                    after_seq: after,
                    limit: 10_000,
                    ..AuditQuery::default()
                })?;
                if rows.is_empty() {
                    break;
                }
                // Each page is checked with the last row of the previous page in front, so
                // the chain is proven across page boundaries too.
                let mut window: Vec<_> = last.iter().cloned().collect();
                window.extend(rows.iter().cloned());
                if let Err(err) = verify_audit_chain(&window) {
                    println!("audit trail BROKEN: {err}");
                    return Ok(ExitCode::FAILURE);
                }
                checked += rows.len() as u64;
                after = rows.last().map(|r| r.seq);
                last = rows.last().cloned();
            }
            println!("audit trail intact: {checked} rows chain from the first");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The demo's officers: one account per role on each node, so every page and refusal can
/// be tried. Each gets a token, a password and, for the roles that must sign in with a
/// second factor (administrator, auditor), an enrolled TOTP key. They are printed and
/// written to `<data dir>/demo-accounts.txt` (`role account token password totp-key` per
/// line, `-` for no key) for scripts and the browser tests. Demo passwords are not marked
/// for change, so a browser test can sign straight in.
pub(crate) fn demo_accounts(
    store: &dyn Store,
    node_name: &str,
    data_dir: &std::path::Path,
) -> anyhow::Result<Vec<(Role, String, String)>> {
    let people: [(Role, &str, &str); 6] = match node_name.starts_with("UZ") {
        true => [
            (Role::DeskOfficer, "d.yusupova", "Dilnoza Yusupova"),
            (Role::Analyst, "a.karimov", "Aziz Karimov"),
            (Role::Supervisor, "r.tashkentov", "Rustam Tashkentov"),
            (Role::Investigator, "s.rakhimov", "Sardor Rakhimov"),
            (Role::AuditorDpo, "n.ismoilova", "Nigora Ismoilova"),
            (Role::Administrator, "admin.uz", "UZ node administrator"),
        ],
        false => [
            (Role::DeskOfficer, "j.miller", "Jane Miller"),
            (Role::Analyst, "r.chen", "Robert Chen"),
            (Role::Supervisor, "m.garcia", "Maria Garcia"),
            (Role::Investigator, "d.okafor", "David Okafor"),
            (Role::AuditorDpo, "l.novak", "Laura Novak"),
            (Role::Administrator, "admin.us", "US node administrator"),
        ],
    };
    let mut out = Vec::new();
    let mut file = String::new();
    println!("  {node_name}: demo accounts (sign in with account name and password)");
    for (role, name, display) in people {
        let token = create_with_token(store, name, display, role, "demo")?;
        let password = caravan_web::admin::initial_password()
            .map_err(|e| anyhow::anyhow!("draw a demo password: {e:?}"))?;
        let phc = caravan_web::password::hash(&password)
            .map_err(|e| anyhow::anyhow!("hash a demo password: {e}"))?;
        let now = now_ms();
        store.set_password(name, &phc, false, now)?;
        let key = if caravan_web::auth::totp_required(role) {
            let secret = caravan_web::totp::new_secret()
                .map_err(|e| anyhow::anyhow!("draw a TOTP key: {e}"))?;
            store.set_totp_pending(name, Some(&secret), now)?;
            store.confirm_totp(name, 0, now)?;
            Some(caravan_web::totp::base32_encode(&secret))
        } else {
            None
        };
        audit(
            store,
            "account.password.set",
            name,
            serde_json::json!({ "demo": true, "totp": key.is_some() }),
        )?;
        println!(
            "    {:<14} {:<14} password {password}{}",
            role.code(),
            name,
            key.as_deref()
                .map(|k| format!("  TOTP key {k}"))
                .unwrap_or_default()
        );
        file.push_str(&format!(
            "{} {name} {token} {password} {}\n",
            role.code(),
            key.as_deref().unwrap_or("-")
        ));
        out.push((role, name.to_owned(), token));
    }
    let path = data_dir.join("demo-accounts.txt");
    std::fs::write(&path, file).with_context(|| format!("write {}", path.display()))?;
    Ok(out)
}
