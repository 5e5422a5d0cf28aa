"""Swim lanes of a project's board."""

from __future__ import annotations

from sqlmodel import col

from pm.domain.models import SwimLane
from pm.repositories.base import Entities


class SwimLaneRepository(Entities[SwimLane]):
    model = SwimLane

    def live_in_project(self, project_id: str) -> list[SwimLane]:
        """In board order."""
        return self._live(
            SwimLane.project_id == project_id, order_by=(col(SwimLane.position), col(SwimLane.id))
        )
