"""Scoring a predictor against ground truth (``python -m p2m_model.evaluation``): metrics, reports, real-photo check."""
