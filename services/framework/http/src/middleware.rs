//! TODO(helper): middleware
