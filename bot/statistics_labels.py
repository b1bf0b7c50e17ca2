"""Province names for ``clgbt stats``: the statistics tables keep ISO 3166-2:KH codes (they are
compared across years), and coordinators read names. The text table shows the English name;
the CSV keeps the code and adds the name in English and Khmer."""

from __future__ import annotations

import csv
import io
from dataclasses import replace

from knowledge.catalogue import TextCatalogue
from knowledge.taxonomy import load_taxonomy
from storage.statistics import Table

PROVINCE = "province"


def province_name(catalogue: TextCatalogue, code: str, language: str) -> str:
    """The province's name from the catalogue (``taxonomy.provinces.<code>``), or the code
    itself when it is not a province (``not_recorded``)."""
    key = f"taxonomy.provinces.{code}"
    return catalogue.text(key, language) if catalogue.has(key) else code


def with_province_names(tables: list[Table], catalogue: TextCatalogue) -> list[Table]:
    """The same tables with the province codes replaced by English names, sorted by name."""
    named = []
    for table in tables:
        if table.dimension != PROVINCE:
            named.append(table)
            continue
        cells = sorted(
            (replace(c, value=province_name(catalogue, c.value, "en")) for c in table.cells),
            key=lambda c: c.value,
        )
        named.append(replace(table, cells=tuple(cells)))
    return named


def add_province_names(csv_text: str, catalogue: TextCatalogue) -> str:
    """The CSV with two more columns, ``name_en`` and ``name_km``: filled for provinces, the
    ``value`` column keeping the code."""
    rows = list(csv.reader(io.StringIO(csv_text)))
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for index, row in enumerate(rows):
        if index == 0:
            writer.writerow([*row, "name_en", "name_km"])
            continue
        dimension, value = row[0], row[1]
        if dimension == PROVINCE and catalogue.has(f"taxonomy.provinces.{value}"):
            names = [province_name(catalogue, value, "en"), province_name(catalogue, value, "km")]
        else:
            names = ["", ""]
        writer.writerow([*row, *names])
    return buffer.getvalue()


def statistics_universe() -> dict[str, tuple[str, ...]]:
    """Every value the statistics list even at zero, so a "<5" never proves a case exists."""
    taxonomy = load_taxonomy()
    return {
        "category": taxonomy.get("categories", ()),
        "perpetrator": taxonomy.get("perpetrators", ()),
        "province": taxonomy.get("provinces", ()),
        "outcome": taxonomy.get("outcomes", ()),
    }
