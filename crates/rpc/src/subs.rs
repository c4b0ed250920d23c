//! The table of live subscriptions behind `eth_unsubscribe` and `attribution_unsubscribe`, and
//! the task that runs each subscription's feed until the client unsubscribes or disconnects.
//!
//! jsonrpsee 0.26 (`PendingSubscriptionSink::accept`) sends the subscription id to the client
//! before it records the subscription for its own unsubscribe handler. A client that unsubscribes
//! as soon as it reads the id can land in between: it is told `false` and keeps receiving
//! notifications. Opal records each subscription here before accepting it and serves the
//! unsubscribe method from this table, so an id the client has seen is always found.

use std::{
    collections::HashMap,
    future::Future,
    sync::{Arc, Mutex, MutexGuard},
};

use jsonrpsee::{
    ConnectionId, Extensions, Methods, PendingSubscriptionSink, RpcModule, SubscriptionSink,
    types::{ErrorObjectOwned, Params, SubscriptionId},
};
use tokio::sync::oneshot;

use crate::{RpcError, error::invalid_params};

type Key = (ConnectionId, SubscriptionId<'static>);

/// Live subscriptions of one namespace, by connection and subscription id.
#[derive(Debug, Default)]
pub(crate) struct Subscriptions {
    live: Mutex<HashMap<Key, oneshot::Sender<()>>>,
}

impl Subscriptions {
    /// An empty table.
    pub(crate) fn new() -> Arc<Self> {
        Arc::default()
    }

    fn live(&self) -> MutexGuard<'_, HashMap<Key, oneshot::Sender<()>>> {
        // The map stays consistent under a panic elsewhere (each operation is one call).
        self.live.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records a subscription before it is accepted, so its id is known before the client sees it.
    pub(crate) fn register(self: &Arc<Self>, pending: &PendingSubscriptionSink) -> Registered {
        let key = (pending.connection_id(), pending.subscription_id());
        let (tx, cancel) = oneshot::channel();
        self.live().insert(key.clone(), tx);
        Registered {
            table: self.clone(),
            key,
            cancel,
        }
    }

    /// Ends the subscription `id` of connection `conn`; `false` when there is none.
    fn cancel(&self, conn: ConnectionId, id: SubscriptionId<'static>) -> bool {
        match self.live().remove(&(conn, id)) {
            // The task may have ended on its own a moment ago; the subscription is gone either way.
            Some(tx) => {
                let _ = tx.send(());
                true
            }
            None => false,
        }
    }

    /// One module of `methods` (a namespace with subscriptions), with its unsubscribe method
    /// `name` served from this table.
    pub(crate) fn module(
        self: &Arc<Self>,
        methods: impl Into<Methods>,
        name: &'static str,
    ) -> Result<RpcModule<()>, RpcError> {
        let mut m = RpcModule::new(());
        m.merge(methods)
            .map_err(|e| RpcError::Setup(e.to_string()))?;
        self.serve_unsubscribe(&mut m, name)?;
        Ok(m)
    }

    /// Replaces the unsubscribe method `name` jsonrpsee generated with one served from this table.
    fn serve_unsubscribe(
        self: &Arc<Self>,
        module: &mut RpcModule<()>,
        name: &'static str,
    ) -> Result<(), RpcError> {
        module.remove_method(name);
        let table = self.clone();
        module
            .register_method(name, move |params: Params<'_>, _, ext: &Extensions| {
                let id = params
                    .one::<SubscriptionId<'_>>()
                    .map_err(|e| invalid_params(format!("expected a subscription id: {e}")))?;
                // Over HTTP there is no connection and so no subscription.
                let Some(conn) = ext.get::<ConnectionId>() else {
                    return Ok::<_, ErrorObjectOwned>(false);
                };
                Ok(table.cancel(*conn, id.into_owned()))
            })
            .map_err(|e| RpcError::Setup(e.to_string()))?;
        Ok(())
    }
}

/// A subscription in the table; leaves it when dropped.
#[derive(Debug)]
pub(crate) struct Registered {
    table: Arc<Subscriptions>,
    key: Key,
    cancel: oneshot::Receiver<()>,
}

impl Registered {
    /// Runs `feed` (which sends on a clone of `sink`) in a task until it ends, the client
    /// unsubscribes or the client disconnects.
    pub(crate) fn run(
        self,
        sink: SubscriptionSink,
        feed: impl Future<Output = ()> + Send + 'static,
    ) {
        tokio::spawn(async move {
            let mut this = self;
            tokio::select! {
                _ = sink.closed() => {}
                _ = &mut this.cancel => {}
                _ = feed => {}
            }
        });
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.table.live().remove(&self.key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cancel_finds_each_registered_key_once() {
        let table = Subscriptions::new();
        let (tx, mut rx) = oneshot::channel();
        let key = (ConnectionId(7), SubscriptionId::Str("0xab".into()));
        table.live().insert(key.clone(), tx);
        assert!(
            !table.cancel(ConnectionId(8), key.1.clone()),
            "other connection"
        );
        assert!(!table.cancel(ConnectionId(7), SubscriptionId::Str("0xac".into())));
        assert!(table.cancel(ConnectionId(7), key.1.clone()));
        assert!(rx.try_recv().is_ok(), "the task is told to stop");
        assert!(
            !table.cancel(ConnectionId(7), key.1),
            "gone after the first unsubscribe"
        );
    }
}
