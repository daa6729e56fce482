"""Offline builders of the body-model assets shipped in p2m_model/assets (run where their dependencies are installed)."""
