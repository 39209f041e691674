"""Who answers for an obligation, in SQL: the rule of `expand.obligation_owners` for the
queries that select obligations by their owner or list their owners. An obligation of an
organisation (`org_id`) is that organisation's; one without (`org_id == NO_ORG`) is its
item's people and units: the item's owners but its «@group» of organisations.

The pure rule stays `expand.obligation_owners`; this is its one translation into SQL (the
mail's escalations, the API's obligations of an executor's token).
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import ColumnElement, and_, func, or_, select, true
from sqlalchemy.sql.selectable import TableValuedAlias

from nok_workflow.plan.ids import ALL_OF_GROUP, NO_ORG
from nok_workflow.store.models import Item, Obligation


def owner_refs(dialect: str) -> TableValuedAlias:
    """The item's owners (`Item.owners`, a JSON array) as rows (`value`), joined to the item
    they belong to: LATERAL on PostgreSQL; SQLite's json_each sees the tables left of it by
    itself."""
    if dialect == "postgresql":
        return func.json_array_elements_text(Item.owners).table_valued("value").lateral()
    return func.json_each(Item.owners).table_valued("value")


def _person_or_unit(ref: TableValuedAlias) -> ColumnElement[bool]:
    return ~ref.c.value.startswith(ALL_OF_GROUP)  # not «@group»: its organisations have their own


def named_owner(ref: TableValuedAlias) -> ColumnElement[bool]:
    """`ref.value` (owner_refs, joined to an obligation's item) is one of the obligation's
    owners: the obligation has no organisation, and the owner is a person or a unit."""
    return and_(Obligation.org_id == NO_ORG, _person_or_unit(ref))


def owned_by(party_id: str, dialect: str, plan_ids: Collection[str]) -> ColumnElement[bool]:
    """The obligations (of the plans `plan_ids`) that `party_id` answers for: its own
    organisation's, and those without organisation of the items that name it an owner."""
    ref = owner_refs(dialect)
    naming = (select(Item.id).select_from(Item).join(ref, true())
              .where(Item.plan_id.in_(plan_ids), ref.c.value == party_id, _person_or_unit(ref)))
    return or_(and_(Obligation.org_id != NO_ORG, Obligation.org_id == party_id),
               and_(Obligation.org_id == NO_ORG, Obligation.item_id.in_(naming)))
