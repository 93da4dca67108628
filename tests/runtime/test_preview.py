"""`durable_runtime.preview.build_preview`: which fields a preview shows, masks and drops."""

from __future__ import annotations

from durable_runtime.preview import FieldMatchMode, PreviewConfig, PreviewField, PreviewMode, build_preview

ORDER = {
    "id": 7,
    "customer": {"name": "Ann", "email": "ann@example.com", "card": {"number": "4111", "exp": "12/30"}},
    "items": [{"sku": "A", "qty": 1}, {"sku": "B", "price": 3}],
    "a.b": "dotted keys are skipped",
}


def test_include_all_shows_leaves_except_excluded_and_masks_secrets() -> None:
    config = PreviewConfig(PreviewMode.INCLUDE_ALL, exclude=[PreviewField("card")], mask=[PreviewField("email")])
    assert build_preview(ORDER, config) == {
        "id": 7,
        "customer": {"name": "Ann", "email": "***"},
        "items": {"sku": "B", "qty": 1, "price": 3},
    }


def test_exclude_all_shows_only_included_fields_by_name_or_path() -> None:
    by_name = PreviewConfig(PreviewMode.EXCLUDE_ALL, include=[PreviewField("sku")])
    by_path = PreviewConfig(PreviewMode.EXCLUDE_ALL, include=[PreviewField("id", FieldMatchMode.PATH)])
    assert build_preview(ORDER, by_name) == {"items": {"sku": "B"}}
    assert build_preview(ORDER, by_path) == {"id": 7}


def test_mask_makes_a_field_visible_but_exclude_wins() -> None:
    masked = PreviewConfig(PreviewMode.EXCLUDE_ALL, mask=[PreviewField("customer.card", FieldMatchMode.PATH)])
    both = PreviewConfig(PreviewMode.EXCLUDE_ALL, mask=[PreviewField("name")], exclude=[PreviewField("name")])
    assert build_preview(ORDER, masked) == {"customer": {"card": "***"}}
    assert build_preview(ORDER, both) is None


def test_fields_stop_at_the_byte_budget() -> None:
    assert build_preview(ORDER, PreviewConfig(PreviewMode.INCLUDE_ALL, max_preview_bytes=40)) == {
        "id": 7,
        "customer": {"name": "Ann"},
    }
    assert build_preview(ORDER, PreviewConfig(PreviewMode.INCLUDE_ALL, max_preview_bytes=5)) is None


def test_only_dicts_have_previews() -> None:
    assert build_preview([1, 2], PreviewConfig(PreviewMode.INCLUDE_ALL)) is None
    assert build_preview("text", PreviewConfig(PreviewMode.INCLUDE_ALL)) is None
