"""Rendering (pure): JSON, text and Markdown views of snapshots and comparisons."""
