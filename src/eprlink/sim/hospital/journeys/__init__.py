"""Journey planners: each returns a patient's messages as drafts, planned but not yet written."""
