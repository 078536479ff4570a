"""The base of every API response model: the wire format the routes wrote before they had one.

Routes annotated `-> dict` were already serialised by pydantic, so datetimes stay in its form
(`2026-03-10T08:00:00Z`, as the idempotency store replays them); an optional key a handler did
not give stays out of the answer (omitted, not `null`); keys a model does not name pass through.
Adding a model to a route therefore changes no client.
"""

from pydantic import BaseModel, ConfigDict, SerializerFunctionWrapHandler, model_serializer


class ApiModel(BaseModel):
    """Base of response models (see the module docstring for the wire-format rules)."""

    # Documents each model by its fields even though a wrap serializer is defined.
    model_config = ConfigDict(
        extra="allow", from_attributes=True, json_schema_mode_override="validation"
    )

    # No return annotation: pydantic would take it as the answer's schema (`Any`: none at all).
    @model_serializer(mode="wrap")
    def _given_keys_only(self, handler: SerializerFunctionWrapHandler):  # type: ignore[no-untyped-def]
        data = handler(self)
        if not isinstance(data, dict):
            return data
        unset: set[str] = set()
        for name, info in type(self).model_fields.items():
            if name not in self.model_fields_set:
                unset.update((name, info.alias or name))
        return {k: v for k, v in data.items() if not (v is None and k in unset)}
