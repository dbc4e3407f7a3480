//! TODO(helper): static_files
