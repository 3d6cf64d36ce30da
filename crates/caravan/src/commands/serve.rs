//! `caravan serve`: the node's HTTP surface until SIGTERM or ctrl-c.
//!
//! Two listeners: the plain HTTP API (probes, log tiles, witness) on `http.listen`, and,
//! with `[exchange]`, the mutual-TLS exchange endpoint on `exchange.listen`, whose
//! client certificates must chain to a pinned partner CA. The outbox loop runs beside
//! them, so messages queued by `caravan messages retry` or the layers above go out.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;

use crate::backend::open_store;
use crate::config::Config;

pub(crate) fn run(config: &Config) -> anyhow::Result<ExitCode> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("create data directory {}", config.data_dir.display()))?;
    let store = open_store(&config.store)?;
    let runtime = tokio::runtime::Runtime::new().context("start async runtime")?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("listen on {}", config.listen))?;
        tracing::info!(node = %config.node_name, addr = %config.listen, store = %config.store, "serving");
        let log = super::log::open_log_node(config, &store)?;
        let (stop, stopped) = tokio::sync::watch::channel(false);
        super::target_node::spawn_retraining(store.clone(), config.targeting);
        let log_task = log.clone().map(|node| {
            let mut stopped = stopped.clone();
            tokio::spawn(node.run(async move {
                let _ = stopped.wait_for(|s| *s).await;
            }))
        });
        let mut node_exchange = None;
        let exchange_tasks = match (&config.exchange, &log) {
            (Some(settings), Some(log)) => {
                let exchange = super::partner::open_exchange(config, &store, log)?;
                node_exchange = Some(exchange.clone());
                let tls = exchange
                    .server_tls()
                    .context("mutual TLS needs at least one registered partner (caravan partner add)")?;
                let mtls = tokio::net::TcpListener::bind(settings.listen)
                    .await
                    .with_context(|| format!("listen on {}", settings.listen))?;
                tracing::info!(addr = %settings.listen, endpoint = %settings.endpoint, "exchange serving over mutual TLS");
                let wait = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
                    let _ = rx.wait_for(|s| *s).await;
                };
                let server = caravan_exchange::transport::serve_mtls(
                    mtls,
                    tls,
                    caravan_web::exchange::routes(exchange.clone()),
                    wait(stopped.clone()),
                );
                vec![
                    tokio::spawn(async move {
                        if let Err(err) = server.await {
                            tracing::error!(error = %err, "exchange server failed");
                        }
                    }),
                    tokio::spawn(exchange.run(wait(stopped.clone()))),
                ]
            }
            _ => Vec::new(),
        };
        super::assist::spawn_workflow(config, &store, node_exchange.clone(), stopped.clone())?;
        super::assist_wire::spawn_bulk_schedule(config, &store, stopped.clone())?;
        let state = caravan_web::AppState {
            store,
            node_name: Arc::from(config.node_name.as_str()),
            log,
            exchange: node_exchange,
        };
        let oidc = config
            .oidc
            .clone()
            .map(|settings| caravan_web::oidc::Oidc::new(settings).map(Arc::new))
            .transpose()
            .map_err(|e| anyhow::anyhow!("[oidc]: {e}"))?;
        let router = caravan_web::router_with_oidc(state, oidc);
        let served = caravan_web::serve(listener, router, shutdown_signal())
            .await
            .context("serve HTTP");
        let _ = stop.send(true);
        for task in exchange_tasks {
            task.await.context("stop the exchange")?;
        }
        if let Some(task) = log_task {
            task.await.context("stop the log")?;
        }
        served
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Resolves on ctrl-c or SIGTERM.
pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
