"""Posed Anny bodies as vertices in the contract's front-view body frame. The only anny user.

``anny`` is imported inside :class:`AnnyBodyGenerator` so that importing this package, the
training ``Dataset`` and inference never need it. Its cache directory is anny's
``ANNY_CACHE_DIR`` environment variable, set by the caller (the CLI has an option).
"""

import numpy as np
import torch

from p2m_model.body.anny_skeleton import AnnySkeleton
from p2m_model.body.skeletons import COCO17_PELVIS_JOINTS

# Front view (docs/design-contracts.md): x = X, y = -Z, z = Y from Anny's (X left, Z up, -Y forward).
ANNY_TO_FRONT_VIEW = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]], dtype=np.float32)



class AnnyBodyGenerator:
    """Poses and shapes Anny bodies in batches.

    Args:
        coco17_regressor: (17, V) COCO-17 regressor used to find the pelvis (mid-hips) root;
            None = anny's own ``KeypointsRegressor.coco`` (first 17 of its points).
        dtype: computation dtype of the body model.
    """

    def __init__(self, coco17_regressor: np.ndarray | None = None, dtype: torch.dtype = torch.float32) -> None:
        import anny

        # "lbs": plain dense skinning, no warp-lang needed (docs/assets-and-licences.md).
        self.model = anny.Anny(skinning_method="lbs").to(dtype=dtype)
        self.model.requires_grad_(False)
        if coco17_regressor is None:
            coco17_regressor = anny.KeypointsRegressor.coco(self.model).regression_weights[:17].cpu().numpy()
        vertex_count = self.model.template_vertices.shape[0]
        if coco17_regressor.shape != (17, vertex_count):
            raise ValueError(f"coco17_regressor must have shape (17, {vertex_count}), got {coco17_regressor.shape}")
        self.coco17_regressor = torch.as_tensor(coco17_regressor, dtype=dtype)
        self.faces = self.model.get_triangular_faces().cpu().numpy()
        with torch.no_grad():
            rest = self.model(None, self._phenotype_tensor(np.full((1, 6), 0.5)))
        self.skeleton = AnnySkeleton(
            bone_labels=tuple(self.model.bone_labels),
            bone_parents=tuple(int(p) for p in self.model.bone_parents),
            rest_heads=rest["rest_bone_heads"][0].double().cpu().numpy(),
        )
        self.phenotype_labels = tuple(self.model.phenotype_labels)

    def _phenotype_tensor(self, phenotypes: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(phenotypes, dtype=self.model.dtype)

    @torch.no_grad()
    def generate(self, rotations: np.ndarray, phenotypes: np.ndarray) -> np.ndarray:
        """Pose and shape a batch of bodies.

        Args:
            rotations: (N, B, 3, 3) ``local-ref`` bone rotations (Anny axes).
            phenotypes: (N, 6) in [0, 1], in the order of ``self.phenotype_labels``.

        Returns:
            (N, V, 3) float32 vertices, metres, front-view body frame, relative to the pelvis
            (mid-point of the COCO hips regressed from the mesh).
        """
        count = len(rotations)
        pose = torch.zeros((count, rotations.shape[1], 4, 4), dtype=self.model.dtype)
        pose[:, :, :3, :3] = torch.as_tensor(rotations, dtype=self.model.dtype)
        pose[:, :, 3, 3] = 1.0
        vertices = self.model(pose, self._phenotype_tensor(phenotypes))["vertices"]  # (N, V, 3)
        hips = torch.einsum("kv,nvd->nkd", self.coco17_regressor[list(COCO17_PELVIS_JOINTS)], vertices)
        vertices = vertices - hips.mean(dim=1, keepdim=True)
        return vertices.cpu().numpy() @ ANNY_TO_FRONT_VIEW.T
