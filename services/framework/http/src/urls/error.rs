//! Errors from building a resolver and from `reverse`.

/// A `UrlConf` that cannot be compiled; the message names the route at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UrlError {
    /// The route text is malformed (unmatched `<`, bad parameter name, leading `/`, …).
    #[error("URL route '{route}' is invalid: {reason}")]
    InvalidRoute {
        /// The full route (include prefixes joined).
        route: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The route names a converter that is not registered.
    #[error("URL route '{route}' uses invalid converter '{converter}'")]
    UnknownConverter {
        /// The full route.
        route: String,
        /// The converter's name.
        converter: String,
    },
    /// A converter's regex does not compile.
    #[error("URL route '{route}' does not compile to a regex: {source}")]
    BadRegex {
        /// The full route.
        route: String,
        /// The regex error.
        #[source]
        source: Box<regex::Error>,
    },
    /// A converter name is registered twice (built-in names included), as Django refuses.
    #[error("converter '{0}' is already registered")]
    DuplicateConverter(String),
    /// Two includes at one level share an instance namespace.
    #[error("URL namespace '{0}' isn't unique")]
    DuplicateNamespace(String),
    /// A name or namespace holds `:`, which would make `ns:name` ambiguous.
    #[error("URL name or namespace '{0}' must not contain ':'")]
    ColonInName(String),
    /// An include sets an instance namespace, but its `UrlConf` has no `app_name`.
    #[error(
        "include('{prefix}') specifies namespace '{namespace}' without an app_name; set UrlConf::app_name"
    )]
    NamespaceWithoutAppName {
        /// The include's prefix.
        prefix: String,
        /// The instance namespace it asked for.
        namespace: String,
    },
    /// A builder method was used on a pattern it does not apply to.
    #[error("URL pattern '{route}': {reason}")]
    Misuse {
        /// The route or include prefix.
        route: String,
        /// Which method, and where it applies.
        reason: &'static str,
    },
}

/// `reverse` found no route for the name and arguments, as Django's `NoReverseMatch`.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct NoReverseMatch {
    message: String,
}

// === impl NoReverseMatch ===

impl NoReverseMatch {
    pub(crate) fn new(message: String) -> Self {
        Self { message }
    }
}
