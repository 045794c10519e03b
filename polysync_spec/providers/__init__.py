"""Providers: one module per platform behind the small vocabulary of `base`."""
