"""Body models as data: joint sets, the body-model asset, the synthetic people's rig, rotations, mesh coarsening."""
