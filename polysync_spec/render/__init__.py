"""Renderers turn findings and plans into text, JSON, GitHub annotations; no logic."""
