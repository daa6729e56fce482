"""Training the cascade on generated bodies (``python -m p2m_model.training``) and the paper's ablations."""
