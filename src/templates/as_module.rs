//! The "compiled as a module" rule (spec section 3): a template is provisioned, and so
//! compiled, as a Genesys common module when its document says so, when another flow calls
//! it, or when a target already holds it as one. A seed `inbound` template that other flows
//! call is therefore a module. The job planner, `POST /v1/templates/{name}/compile` and the
//! offline CLI each gather the facts their way and decide by [`as_module`].

use crate::template::FlowType;

/// Why a template is provisioned as a common module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AsModule {
    /// Its document declares `type: module`.
    Declared,
    /// Another flow calls it by name: the caller's template name.
    Called(String),
    /// A target records a flow of it as a common module (a seed `inbound` module
    /// provisioned again on its own stays a module).
    Recorded,
}

/// Whether (and why) a template of `declared` type is provisioned as a common module, given
/// the template that calls it, if any, and whether a target records it as a module. The
/// reasons are tried in this order; a caller looking them up may stop at the first.
pub(crate) fn as_module(
    declared: Option<FlowType>,
    called_by: Option<&str>,
    recorded: bool,
) -> Option<AsModule> {
    if declared == Some(FlowType::Module) {
        Some(AsModule::Declared)
    } else if let Some(caller) = called_by {
        Some(AsModule::Called(caller.to_owned()))
    } else if recorded {
        Some(AsModule::Recorded)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_declared_called_or_recorded_template_is_a_module() {
        use FlowType::{Inbound, Module};
        assert_eq!(
            as_module(Some(Module), Some("A"), true),
            Some(AsModule::Declared)
        );
        assert_eq!(
            as_module(Some(Inbound), Some("A"), true),
            Some(AsModule::Called("A".into()))
        );
        assert_eq!(as_module(None, None, true), Some(AsModule::Recorded));
        assert_eq!(as_module(Some(Inbound), None, false), None);
    }
}
