"""Offline builders of the body-model assets shipped in p2m_model/assets: ``python -m p2m_model.asset_builders``.

Run where their dependencies (anny, smplx) are installed.
"""
