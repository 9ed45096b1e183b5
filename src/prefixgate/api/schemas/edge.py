"""The edge change feed: snapshot, changes and the edges' reports (docs/edge.md, section 1)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt

__all__ = ["ChangeOut", "ChangesOut", "NodeOut", "NodeReport", "SnapshotOut"]


class SnapshotOut(BaseModel):
    format: str = Field(description='"prefixgate.edge/1"')
    revision: int
    checksum: str = Field(description='"sha256:<hex>" over the canonical JSON of {"revision", "state"}')
    state: dict[str, list[list[Any]]] = Field(description="Each kind's rows, as arrays in a fixed field order")


class ChangeOut(BaseModel):
    revision: int
    kind: str
    id: str
    row: list[Any] | None = Field(description="The entity at the answer's revision; null when it is gone")


class ChangesOut(BaseModel):
    revision: int = Field(description="The head: applying the changes to the state at `since` gives this one")
    oldest: int = Field(description="The oldest revision whose changes are still kept")
    changes: list[ChangeOut]


class NodeReport(BaseModel):
    model_config = ConfigDict(extra="ignore")
    revision: StrictInt = Field(ge=0, le=2**63 - 1, description="The revision this edge serves")


class NodeOut(BaseModel):
    name: str
    revision: int
    lag: int = Field(description="Revisions behind the head")
    last_seen: str
    stale: bool = Field(description="Not heard from for PREFIXGATE_EDGE_STALE_S: no longer counted")
    registered_on: str
