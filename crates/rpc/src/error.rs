//! RPC error values: JSON-RPC error objects with geth's codes and messages.

use jsonrpsee::types::ErrorObjectOwned;

/// Errors of setting up the server.
#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    /// The server could not start.
    #[error("rpc: {0}")]
    Setup(String),
}

/// geth's code for server-side failures (`-32000`).
pub const SERVER_ERROR: i32 = -32000;
/// Invalid method parameters (`-32602`).
pub const INVALID_PARAMS: i32 = -32602;
/// Internal error (`-32603`).
pub const INTERNAL_ERROR: i32 = -32603;

/// A `-32000` error with `message`, as geth reports transaction and state errors.
pub fn server_error(message: impl Into<String>) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(SERVER_ERROR, message.into(), None::<()>)
}

/// A `-32602` error.
pub fn invalid_params(message: impl Into<String>) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(INVALID_PARAMS, message.into(), None::<()>)
}

/// A `-32603` error for failures inside the node (the database); the detail is logged, not hidden.
pub fn internal(e: impl std::fmt::Display) -> ErrorObjectOwned {
    tracing::error!(error = %e, "rpc internal error");
    ErrorObjectOwned::owned(INTERNAL_ERROR, format!("internal error: {e}"), None::<()>)
}
