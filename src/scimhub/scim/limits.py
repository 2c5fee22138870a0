"""Limits the server advertises in ServiceProviderConfig and enforces."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    max_body_bytes: int = 1_048_576
    max_results: int = 1000
    default_count: int = 100
    max_filter_length: int = 4096
    max_filter_depth: int = 32
    max_patch_operations: int = 1000
    max_bulk_operations: int = 1000
