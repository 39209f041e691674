"""A coordinator's edit of one item — change, add, remove — as a new plan text.

The plan's YAML stays the stored form: the edit is made on its round-trip data (plan/yaml_rt),
so comments, key order and the rest of the file are as they were, and the new text is
validated before anyone sees its diff. Items are named by their key («II.4»), as on the pages.
"""

from __future__ import annotations

from dataclasses import dataclass

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from nok_workflow.plan import source
from nok_workflow.plan.compiled import deadline_text
from nok_workflow.plan.validate import LoadedPlan, validate_document
from nok_workflow.plan.yaml_rt import RoundTrip, like
from nok_workflow.problems import InputError, Problem


@dataclass(frozen=True)
class ItemFields:
    """What the item form edits: the rest of an item (id, depends_on, policies) is kept."""

    title: str
    deadline: str
    owners: tuple[str, ...]
    results: tuple[str, ...]


@dataclass(frozen=True)
class Edited:
    text: str
    plan: LoadedPlan
    what: str  # «пункт II.4 изменён» — for the page and the audit


def fields_of(loaded: LoadedPlan, key: str) -> ItemFields:
    item = _compiled(loaded, key).item
    return ItemFields(item.title, deadline_text(item), tuple(item.owners), tuple(item.results))


def edit_item(text: str, file: str, key: str, fields: ItemFields) -> Edited:
    loaded = validate_document(source.parse(text, file))
    doc = RoundTrip.load(text, file)
    item = _yaml_item(doc, loaded, key)
    item["title"] = like(item.get("title"), _required(file, fields.title, "название пункта"))
    deadline = item.get("deadline")
    if isinstance(deadline, dict):  # a structured deadline: its wording is `text`
        deadline["text"] = like(deadline.get("text"), fields.deadline.strip())
    elif fields.deadline.strip() or deadline is not None:
        item["deadline"] = like(deadline, fields.deadline.strip())
    _set_list(item, "owners", fields.owners)
    _set_list(item, "results", fields.results)
    return _checked(doc, file, f"пункт {key} изменён")


def add_item(text: str, file: str, section: int, number: str, fields: ItemFields) -> Edited:
    """A new item at the end of the plan's ``section``-th section (0-based)."""
    loaded = validate_document(source.parse(text, file))
    doc = RoundTrip.load(text, file)
    sections = doc.data["sections"]
    if not 0 <= section < len(sections):
        raise InputError([Problem(file, 0, 0, f"раздела № {section + 1} в плане нет")])
    item = CommentedMap()
    item["number"] = _required(file, number, "номер пункта")
    item["title"] = _required(file, fields.title, "название пункта")
    if fields.deadline.strip():
        item["deadline"] = fields.deadline.strip()
    item["owners"] = _flow([o for o in fields.owners if o.strip()])
    if results := [r.strip() for r in fields.results if r.strip()]:
        item["results"] = _flow(results)
    sections[section]["items"].append(item)
    edited = _checked(doc, file, "")
    new_keys = {c.key for c in edited.plan.compiled.items} - {c.key for c in loaded.compiled.items}
    return Edited(edited.text, edited.plan, f"добавлен пункт {', '.join(sorted(new_keys))}")


def remove_item(text: str, file: str, key: str) -> Edited:
    loaded = validate_document(source.parse(text, file))
    doc = RoundTrip.load(text, file)
    item = _yaml_item(doc, loaded, key)
    for section in doc.data["sections"]:
        items = section["items"]
        if any(entry is item for entry in items):
            if len(items) == 1:
                raise InputError([Problem(file, 0, 0, f"пункт {key} — единственный в своём разделе; раздел без "
                                                      "пунктов план не допускает")])
            del items[next(i for i, entry in enumerate(items) if entry is item)]
    return _checked(doc, file, f"пункт {key} удалён")


# --- helpers ----------------------------------------------------------------------------

def _compiled(loaded: LoadedPlan, key: str):  # noqa: ANN202 - a CompiledItem
    for compiled in loaded.compiled.items:
        if compiled.key == key:
            return compiled
    raise InputError([Problem(loaded.document.file, 0, 0, f"пункта {key} в плане нет")])


def _yaml_item(doc: RoundTrip, loaded: LoadedPlan, key: str) -> CommentedMap:
    """The YAML mapping of item ``key``: the plan is valid, so items come in the compiled order."""
    _compiled(loaded, key)  # a clear message for a key the plan does not have
    items = [item for section in doc.data["sections"] for item in section["items"]]
    keys = [compiled.key for compiled in loaded.compiled.items]
    return dict(zip(keys, items, strict=True))[key]


def _required(file: str, value: str, what: str) -> str:
    value = " ".join(value.split())
    if not value:
        raise InputError([Problem(file, 0, 0, f"{what} не может быть пустым")])
    return value


def _flow(values: list[str]) -> CommentedSeq:
    seq = CommentedSeq(values)
    seq.fa.set_flow_style()  # `owners: [otdel, sovet]`, as the bundled plans write them
    return seq


def _set_list(item: CommentedMap, name: str, values: tuple[str, ...]) -> None:
    values_ = [" ".join(v.split()) for v in values if v.strip()]
    old = item.get(name)
    if old is not None and list(old) == values_:
        return  # unchanged: keep the file's own style of the list
    if not values_ and old is None:
        return
    if isinstance(old, CommentedSeq):
        old.clear()
        old.extend(values_)
    else:
        item[name] = _flow(values_)


def _checked(doc: RoundTrip, file: str, what: str) -> Edited:
    text = doc.dump()
    return Edited(text, validate_document(source.parse(text, file)), what)
