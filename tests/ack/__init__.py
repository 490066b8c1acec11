"""Tests of the acknowledgement package."""
