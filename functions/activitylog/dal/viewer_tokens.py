"""Viewer tokens in the control table: one item per token, keyed by the hash of its secret.

  pk=VTOKEN#<sha256 of secret>  sk=VTOKEN  exp=<expiry, epoch s>  doc=<ViewerTokenRecord JSON>
No index entry: tokens are not listed (they live minutes to a day); the table's TTL removes the item
after expiry (lazily: reads check `expires_at` themselves).
"""

from __future__ import annotations

from typing import Any

from activitylog.dal.control_base import ABSENT, ControlBase
from activitylog.models.errors import ConflictError
from activitylog.models.viewer_tokens import ViewerTokenRecord


class ViewerTokensMixin(ControlBase):
    def put_viewer_token(self, record: ViewerTokenRecord, *, expires: int) -> None:
        item: dict[str, Any] = {
            "pk": {"S": f"VTOKEN#{record.secret_hash}"},
            "sk": {"S": "VTOKEN"},
            "exp": {"N": str(expires)},
            "doc": {"S": record.model_dump_json()},
        }
        if self._conditional(self._ddb.put_item, Item=item, ConditionExpression=ABSENT) is None:
            raise ConflictError("a viewer token with this secret already exists")

    def get_viewer_token(self, secret_hash: str) -> ViewerTokenRecord | None:
        item = self._get(f"VTOKEN#{secret_hash}", "VTOKEN", ProjectionExpression="doc")
        return ViewerTokenRecord.model_validate_json(item["doc"]["S"]) if item else None


class ViewerTokenTable(ViewerTokensMixin):
    """The control table seen as viewer tokens only (the authorizer and the minting route)."""
