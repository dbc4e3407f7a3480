//! TODO(helper): urls
