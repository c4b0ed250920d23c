//! The geth tracers of `debug_traceTransaction` and `debug_traceCall`: which one a request names,
//! the inspector that records what it needs, and the trace it renders.
//!
//! The struct logger, `callTracer` and `prestateTracer` use revm-inspectors' [`TracingInspector`];
//! `4byteTracer` its [`FourByteInspector`]; `noopTracer` records nothing.

use alloy::{
    primitives::Address,
    rpc::types::trace::geth::{
        CallConfig, FourByteFrame, GethDebugBuiltInTracerType, GethDebugTracerType,
        GethDebugTracingOptions, GethDefaultTracingOptions, GethTrace, NoopFrame, PreStateConfig,
    },
};
use jsonrpsee::core::RpcResult;
use op_revm::OpHaltReason;
use revm::{
    DatabaseRef, context_interface::either::Either, context_interface::result::ResultAndState,
};
use revm_inspectors::tracing::{FourByteInspector, TracingInspector, TracingInspectorConfig};

use crate::error::{internal, invalid_params, server_error};

/// The tracers a request may name, for error messages.
const SUPPORTED: &str =
    "the default struct logger, callTracer, prestateTracer, 4byteTracer or noopTracer";

/// The inspector a traced transaction runs under.
pub(crate) type TraceInspector = Either<TracingInspector, FourByteInspector>;

/// The tracer a request asked for.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Tracer {
    /// geth's default struct logger.
    StructLog(GethDefaultTracingOptions),
    /// `callTracer`.
    Call(CallConfig),
    /// `prestateTracer`, in prestate or diff mode.
    PreState(PreStateConfig),
    /// `4byteTracer`.
    FourByte,
    /// `noopTracer`.
    Noop,
}

impl Tracer {
    /// The tracer `opts` names, with the inspector that records what it needs.
    pub(crate) fn from_opts(opts: GethDebugTracingOptions) -> RpcResult<(Self, TraceInspector)> {
        use GethDebugBuiltInTracerType as BuiltIn;
        let GethDebugTracingOptions {
            config,
            tracer,
            tracer_config,
            ..
        } = opts;
        let tracing = |c| Either::Left(TracingInspector::new(c));
        Ok(match tracer {
            None => (
                Self::StructLog(config),
                tracing(TracingInspectorConfig::from_geth_config(&config)),
            ),
            Some(GethDebugTracerType::BuiltInTracer(BuiltIn::CallTracer)) => {
                let call = tracer_config
                    .into_call_config()
                    .map_err(|e| invalid_params(format!("invalid callTracer config: {e}")))?;
                (
                    Self::Call(call),
                    tracing(TracingInspectorConfig::from_geth_call_config(&call)),
                )
            }
            Some(GethDebugTracerType::BuiltInTracer(BuiltIn::PreStateTracer)) => {
                let pre = tracer_config
                    .into_pre_state_config()
                    .map_err(|e| invalid_params(format!("invalid prestateTracer config: {e}")))?;
                // The frame comes from the execution's state changes and the pre-state database,
                // not from recorded steps.
                (
                    Self::PreState(pre),
                    tracing(TracingInspectorConfig::from_geth_prestate_config(&pre)),
                )
            }
            Some(GethDebugTracerType::BuiltInTracer(BuiltIn::FourByteTracer)) => {
                (Self::FourByte, Either::Right(FourByteInspector::default()))
            }
            Some(GethDebugTracerType::BuiltInTracer(BuiltIn::NoopTracer)) => {
                (Self::Noop, tracing(TracingInspectorConfig::none()))
            }
            Some(GethDebugTracerType::BuiltInTracer(other)) => {
                let name = serde_json::to_string(&other).unwrap_or_else(|_| format!("{other:?}"));
                return Err(unsupported(name.trim_matches('"')));
            }
            // A name geth does not know deserialises as JavaScript source.
            Some(GethDebugTracerType::JsTracer(code))
                if !code.is_empty() && code.chars().all(|c| c.is_ascii_alphanumeric()) =>
            {
                return Err(unsupported(&code));
            }
            Some(GethDebugTracerType::JsTracer(_)) => {
                return Err(server_error(format!(
                    "JavaScript tracers are not supported (use {SUPPORTED})"
                )));
            }
        })
    }

    /// The trace of the transaction `inspector` just watched: `out` is its uncommitted result,
    /// `pre_state` the state it ran on (read by `prestateTracer`).
    pub(crate) fn frame<DB>(
        self,
        inspector: &mut TraceInspector,
        gas_limit: u64,
        caller: Address,
        out: &ResultAndState<OpHaltReason>,
        pre_state: DB,
    ) -> RpcResult<GethTrace>
    where
        DB: DatabaseRef,
        DB::Error: std::fmt::Display,
    {
        let inspector = match inspector {
            Either::Right(four_byte) => return Ok(FourByteFrame::from(&*four_byte).into()),
            Either::Left(tracing) => tracing,
        };
        inspector.set_transaction_gas_limit(gas_limit);
        inspector.set_transaction_caller(caller);
        let result = &out.result;
        let gas_used = result.tx_gas_used();
        Ok(match self {
            Self::StructLog(opts) => inspector
                .geth_builder()
                .geth_traces(gas_used, result.output().cloned().unwrap_or_default(), opts)
                .into(),
            Self::Call(config) => inspector
                .geth_builder()
                .geth_call_traces(config, gas_used)
                .into(),
            Self::PreState(config) => inspector
                .geth_builder()
                .geth_prestate_traces(out, &config, pre_state)
                .map_err(internal)?
                .into(),
            Self::FourByte => FourByteFrame::default().into(),
            Self::Noop => NoopFrame::default().into(),
        })
    }
}

/// Clears what `inspector` recorded (of the transactions replayed before the traced one).
pub(crate) fn fuse(inspector: &mut TraceInspector) {
    match inspector {
        Either::Left(tracing) => tracing.fuse(),
        Either::Right(four_byte) => *four_byte = FourByteInspector::default(),
    }
}

fn unsupported(name: &str) -> jsonrpsee::types::ErrorObjectOwned {
    server_error(format!("tracer {name} is not supported (use {SUPPORTED})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(v: serde_json::Value) -> GethDebugTracingOptions {
        serde_json::from_value(v).unwrap_or_else(|e| panic!("bad options: {e}"))
    }

    fn select(v: serde_json::Value) -> (Tracer, TraceInspector) {
        Tracer::from_opts(opts(v)).unwrap_or_else(|e| panic!("{e:?}"))
    }

    #[test]
    fn tracer_options_select_the_tracer() {
        let (t, i) = select(serde_json::json!({"disableStack": true}));
        assert!(matches!(t, Tracer::StructLog(o) if o.disable_stack == Some(true)));
        assert!(i.is_left());
        let (t, _) = select(serde_json::json!({
            "tracer": "callTracer", "tracerConfig": {"onlyTopCall": true, "withLog": true}
        }));
        assert!(
            matches!(t, Tracer::Call(c) if c.only_top_call == Some(true) && c.with_log == Some(true))
        );
        let (t, i) = select(serde_json::json!({"tracer": "prestateTracer"}));
        assert!(matches!(t, Tracer::PreState(c) if !c.is_diff_mode()));
        assert!(i.is_left());
        let (t, _) = select(serde_json::json!({
            "tracer": "prestateTracer", "tracerConfig": {"diffMode": true, "disableCode": true}
        }));
        assert!(
            matches!(t, Tracer::PreState(c) if c.is_diff_mode() && c.disable_code == Some(true))
        );
        let (t, i) = select(serde_json::json!({"tracer": "4byteTracer"}));
        assert!(matches!(t, Tracer::FourByte));
        assert!(i.is_right());
        let (t, _) = select(serde_json::json!({"tracer": "noopTracer"}));
        assert!(matches!(t, Tracer::Noop));
    }

    #[test]
    fn unsupported_tracers_and_bad_configs_are_errors() {
        let err = |v| match Tracer::from_opts(opts(v)) {
            Ok(_) => panic!("accepted"),
            Err(e) => e,
        };
        for name in ["flatCallTracer", "muxTracer", "fooTracer"] {
            let e = err(serde_json::json!({ "tracer": name }));
            assert!(
                e.message()
                    .starts_with(&format!("tracer {name} is not supported")),
                "{e:?}"
            );
            assert!(e.message().contains("prestateTracer, 4byteTracer"), "{e:?}");
        }
        let e = err(serde_json::json!({"tracer": "{ result: function() {} }"}));
        assert!(e.message().contains("JavaScript"), "{e:?}");
        let e =
            err(serde_json::json!({"tracer": "callTracer", "tracerConfig": {"onlyTopCall": 5}}));
        assert_eq!(e.code(), crate::error::INVALID_PARAMS);
        let e = err(serde_json::json!({
            "tracer": "prestateTracer", "tracerConfig": {"diffMode": "yes"}
        }));
        assert_eq!(e.code(), crate::error::INVALID_PARAMS);
    }
}
