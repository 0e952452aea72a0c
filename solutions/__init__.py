"""Reference implementations of every iolab project (the single source of truth for labs/)."""
