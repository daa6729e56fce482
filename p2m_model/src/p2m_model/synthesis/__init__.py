"""Synthetic training data: Anny bodies in plausible poses, random cameras, 2D detector errors.

Only :mod:`p2m_model.synthesis.anny_bodies` imports ``anny`` (lazily, inside its
constructor); everything else here, including the training ``Dataset``, runs without it.
"""
