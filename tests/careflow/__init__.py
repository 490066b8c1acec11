"""Tests of the CareFlow sample tooling (anonymisation)."""
