"""Scoring the live pipeline against a bag's ground truth: the evaluator node and its scoring."""
