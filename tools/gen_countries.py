"""Generate chalicelib/data/countries.json: name, region, income group, time zone and Global North/South.

Re-run from the repository root, in a throwaway venv (pandas never enters the project venv or the Lambda):

    python3 -m venv /tmp/gen-venv
    /tmp/gen-venv/bin/pip install country_converter "pandas<3" tzdata
    /tmp/gen-venv/bin/python tools/gen_countries.py

``pandas<3`` is needed because country_converter 1.3.2 fails under pandas 3: its loader no longer keeps the
code "NA" (Namibia) as a string, and ``CountryConverter()`` raises ``TypeError`` while compiling regexes.

Sources, and what each one does and does not give:

- country_converter (``CountryConverter().data``): the list of codes (ISO 3166-1 alpha-2, plus Kosovo's
  user-assigned ``XK``, which the World Bank classifies), the short English name (``name_short``) and the
  UN M49 sub-region (``UNregion``). Its columns hold no World Bank region and no World Bank income group
  (the nearest are UN M49, continents, OECD/EU/G20 membership and model regions such as MESSAGE/REMIND).
  So the region is the UN M49 sub-region mapped to the World Bank region (``UN_TO_WB_REGION``), corrected
  by ``WB_REGION_OVERRIDES`` where the World Bank draws the line elsewhere.
- World Bank income groups: hand-maintained below (``WB_INCOME``), because no offline, maintained package
  ships them (wbgapi, wbdata and friends call the World Bank API at run time). It follows the World Bank
  classification for FY2027 (1 July 2026, on 2025 GNI per capita): FY2026 moved Costa Rica to high, Cabo
  Verde and Samoa to upper-middle and Namibia to lower-middle; FY2027 moved Jordan, Micronesia, the
  Philippines, Sri Lanka and Viet Nam to upper-middle and Togo to lower-middle. Check it against the World
  Bank's CLASS.xlsx every July and update ``WB_INCOME`` and ``INCOME_VINTAGE``.
- Time zones: tzdata's ``zone.tab``, first zone listed for the country, with ``TZ_OVERRIDES`` where that
  zone is not where most people live.
- Names that a registration list may hold instead of the code (``names``, per code): the CLDR names in
  English, French and Spanish (Babel's ``Locale.territories``, short and variant forms included), the ISO
  3166-1 alpha-3 code (CLDR's territory aliases), and the common variants in ``NAME_VARIANTS``. Babel is a
  development dependency (it compiles the gettext catalogues); it never ships. Only this part can be
  regenerated in the project venv, on the committed file:

    .venv/bin/python tools/gen_countries.py --names

Rules that are ours, not the World Bank's:

- Territories that the World Bank does not list, but whose output it counts inside a listed economy (the
  French overseas departments inside France, Åland inside Finland, Svalbard inside Norway, Australia's
  external territories inside Australia), take that economy's income group (``PART_OF``).
- Other codes the World Bank does not list, and Venezuela (unclassified since FY2022 for want of data),
  get ``unclassified``.
- Global North/South, as the seed defines it: "north" for high income, "south" otherwise. An
  ``unclassified`` code is "south" unless another source puts it above the high-income threshold
  (``HIGH_INCOME_ELSEWHERE``, each with its source). For uninhabited codes the flag is nominal.
"""

from __future__ import annotations

import importlib.metadata
import importlib.resources
import json
import re
import sys
import zoneinfo
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "chalicelib" / "data" / "countries.json"

REGIONS = (
    "east_asia_pacific",
    "europe_central_asia",
    "latin_america_caribbean",
    "middle_east_north_africa",
    "north_america",
    "south_asia",
    "sub_saharan_africa",
)
INCOME_GROUPS = ("high", "upper_middle", "lower_middle", "low")

INCOME_VINTAGE = "World Bank income groups FY2027 (1 July 2026)"

UN_TO_WB_REGION = {
    "Australia and New Zealand": "east_asia_pacific",
    "Eastern Asia": "east_asia_pacific",
    "Melanesia": "east_asia_pacific",
    "Micronesia": "east_asia_pacific",
    "Polynesia": "east_asia_pacific",
    "South-eastern Asia": "east_asia_pacific",
    "Central Asia": "europe_central_asia",
    "Eastern Europe": "europe_central_asia",
    "Northern Europe": "europe_central_asia",
    "Southern Europe": "europe_central_asia",
    "Western Europe": "europe_central_asia",
    "Caribbean": "latin_america_caribbean",
    "Central America": "latin_america_caribbean",
    "South America": "latin_america_caribbean",
    "Northern Africa": "middle_east_north_africa",
    "Western Asia": "middle_east_north_africa",
    "Northern America": "north_america",
    "Southern Asia": "south_asia",
    "Eastern Africa": "sub_saharan_africa",
    "Middle Africa": "sub_saharan_africa",
    "Southern Africa": "sub_saharan_africa",
    "Western Africa": "sub_saharan_africa",
    # No World Bank region contains Antarctica.
    "Antarctica": "unknown",
}

# Where the World Bank's regions cut across UN M49 sub-regions.
WB_REGION_OVERRIDES = {
    # UN "Western Asia", World Bank "Europe & Central Asia".
    "AM": "europe_central_asia",
    "AZ": "europe_central_asia",
    "CY": "europe_central_asia",
    "GE": "europe_central_asia",
    "TR": "europe_central_asia",
    # UN "Northern America", World Bank "Europe & Central Asia".
    "GL": "europe_central_asia",
    # UN "Southern Europe", World Bank "Middle East & North Africa".
    "MT": "middle_east_north_africa",
    # UN "Eastern Africa", World Bank "Middle East & North Africa".
    "DJ": "middle_east_north_africa",
    # UN "Northern Africa", World Bank "Sub-Saharan Africa".
    "SD": "sub_saharan_africa",
    # UN "Southern Asia", World Bank "Middle East & North Africa".
    "IR": "middle_east_north_africa",
    # Since July 2025 the World Bank's region is "Middle East, North Africa, Afghanistan & Pakistan"; our
    # slug keeps its old name.
    "AF": "middle_east_north_africa",
    "PK": "middle_east_north_africa",
}

# The World Bank's list of economies, by income group. "GG JE" is the World Bank's "Channel Islands".
WB_INCOME = {
    "high": """
        AD AE AG AS AT AU AW BB BE BG BH BM BN BS CA CH CL CR CW CY CZ DE DK EE ES FI FO FR GB GG GI GL GR
        GU GY HK HR HU IE IL IM IS IT JE JP KN KR KW KY LI LT LU LV MC MF MO MP MT NC NL NO NR NZ OM PA PF
        PL PR PT PW QA RO RU SA SC SE SG SI SK SM SX TC TT TW US UY VG VI
    """,
    "upper_middle": """
        AL AM AR AZ BA BR BW BY BZ CN CO CU CV DM DO DZ EC FJ FM GA GD GE GQ GT ID IQ IR JM JO KZ LC LK LY
        MD ME MH MK MN MU MV MX MY PE PH PY RS SR SV TH TM TO TR TV UA VC VN WS XK ZA
    """,
    "lower_middle": """
        AO BD BJ BO BT CG CI CM DJ EG GH GN HN HT IN KE KG KH KI KM LA LB LS MA MM MR NA NG NI NP PG PK
        PS SB SN ST SZ TG TJ TL TN TZ UZ VU ZM ZW
    """,
    "low": """
        AF BF BI CD CF ER ET GM GW KP LR MG ML MW MZ NE RW SD SL SO SS SY TD UG YE
    """,
}

# Listed by the World Bank without an income group.
WB_UNCLASSIFIED = {"VE"}

# Not listed by the World Bank, but inside a listed economy's statistics.
PART_OF = {
    "AX": "FI",
    "SJ": "NO",
    "CC": "AU",
    "CX": "AU",
    "NF": "AU",
    "GF": "FR",
    "GP": "FR",
    "MQ": "FR",
    "RE": "FR",
    "YT": "FR",
}

# Not classified by the World Bank, but above its high-income threshold by another source.
HIGH_INCOME_ELSEWHERE = {
    "CK": "OECD DAC: graduated from the ODA recipient list in 2020 as high income",
    "FK": "Falkland Islands Government: GDP per capita far above the high-income threshold",
    "PM": "IEDOM (Banque de France): GDP per capita above the high-income threshold",
    "BL": "CEROM (INSEE, AFD, IEDOM): GDP per capita above the high-income threshold",
    "BQ": "CBS (Statistics Netherlands), Caribbean Netherlands: GDP per capita above the threshold",
}

TZ_OVERRIDES = {
    "AR": "America/Argentina/Buenos_Aires",
    "AU": "Australia/Sydney",
    "BR": "America/Sao_Paulo",
    "CA": "America/Toronto",
    "CD": "Africa/Kinshasa",
    "CL": "America/Santiago",
    "CN": "Asia/Shanghai",
    "CY": "Asia/Nicosia",
    "DE": "Europe/Berlin",
    "EC": "America/Guayaquil",
    "ES": "Europe/Madrid",
    "FM": "Pacific/Pohnpei",
    "GL": "America/Nuuk",
    "ID": "Asia/Jakarta",
    "KI": "Pacific/Tarawa",
    "KZ": "Asia/Almaty",
    "MN": "Asia/Ulaanbaatar",
    "MX": "America/Mexico_City",
    "MY": "Asia/Kuala_Lumpur",
    "NZ": "Pacific/Auckland",
    "PF": "Pacific/Tahiti",
    "PT": "Europe/Lisbon",
    "RU": "Europe/Moscow",
    "UA": "Europe/Kyiv",
    "US": "America/New_York",
    "UZ": "Asia/Tashkent",
    # More people live in the West Bank than in Gaza.
    "PS": "Asia/Hebron",
    # XK is not an ISO code, so zone.tab has no line for it; the tz database keeps Kosovo in this zone.
    "XK": "Europe/Belgrade",
    # Uninhabited and absent from zone.tab: the zone of their longitude.
    "BV": "Etc/UTC",
    "HM": "Indian/Kerguelen",
}


def _codes(block: str) -> list[str]:
    return block.split()


def income_table() -> dict[str, str]:
    """Code -> World Bank income group, refusing a code listed twice."""
    table: dict[str, str] = {}
    for group, block in WB_INCOME.items():
        for code in _codes(block):
            if code in table:
                raise SystemExit(f"{code} is listed as both {table[code]} and {group}")
            table[code] = group
    for code in WB_UNCLASSIFIED:
        if code in table:
            raise SystemExit(f"{code} is both classified and unclassified")
        table[code] = "unclassified"
    return table


def load_converter_rows() -> dict[str, tuple[str, str]]:
    """Code -> (short name, UN M49 sub-region) from country_converter."""
    import country_converter as coco

    try:
        data = coco.CountryConverter().data
    except TypeError as exc:
        raise SystemExit(f"country_converter failed to load ({exc}); install pandas<3, see the docstring") from exc
    rows: dict[str, tuple[str, str]] = {}
    for iso2, name, un_region in zip(data["ISO2"], data["name_short"], data["UNregion"], strict=True):
        # A few ISO2 cells are regexes, e.g. "^GB$|^UK$": the first code is the ISO one.
        match = re.search(r"[A-Z]{2}", str(iso2))
        if match is None:
            raise SystemExit(f"unreadable ISO2 cell {iso2!r}")
        rows[match.group()] = (str(name), str(un_region))
    return rows


def zone_tab_first() -> dict[str, str]:
    """Code -> first zone that zone.tab lists for it."""
    try:
        path = importlib.resources.files("tzdata") / "zoneinfo" / "zone.tab"
        text = path.read_text(encoding="utf-8")
    except ModuleNotFoundError:
        text = Path("/usr/share/zoneinfo/zone.tab").read_text(encoding="utf-8")
    first: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        code, _coords, zone = line.split("\t")[:3]
        first.setdefault(code, zone)
    return first


def build() -> tuple[dict[str, dict[str, str]], list[str]]:
    """Assemble every entry and return it with the list of problems found."""
    rows = load_converter_rows()
    incomes = income_table()
    zones = zone_tab_first()
    available = zoneinfo.available_timezones()
    problems: list[str] = []

    for code in sorted(set(incomes) | set(PART_OF) | set(HIGH_INCOME_ELSEWHERE) | set(TZ_OVERRIDES)):
        if code not in rows:
            problems.append(f"{code} is in a table here but not in country_converter")
    for code in sorted(set(PART_OF) | set(HIGH_INCOME_ELSEWHERE)):
        if code in incomes:
            problems.append(f"{code} is listed by the World Bank; drop it from PART_OF/HIGH_INCOME_ELSEWHERE")

    countries: dict[str, dict[str, str]] = {}
    for code in sorted(rows):
        name, un_region = rows[code]
        region = WB_REGION_OVERRIDES.get(code) or UN_TO_WB_REGION.get(un_region)
        if region is None:
            problems.append(f"{code}: UN region {un_region!r} has no World Bank mapping")
            region = "unknown"

        if code in incomes:
            income = incomes[code]
        elif code in PART_OF:
            income = incomes[PART_OF[code]]
        else:
            income = "unclassified"

        is_north = income == "high" or (income == "unclassified" and code in HIGH_INCOME_ELSEWHERE)

        zone = TZ_OVERRIDES.get(code) or zones.get(code)
        if zone is None:
            problems.append(f"{code}: no time zone in zone.tab and no override")
            zone = ""
        elif zone not in available:
            problems.append(f"{code}: time zone {zone} is not in zoneinfo.available_timezones()")

        countries[code] = {
            "name": name,
            "region": region,
            "income_group": income,
            "timezone": zone,
            "global": "north" if is_north else "south",
        }
    return countries, problems


# Names people write that CLDR does not give in any of the three languages.
NAME_VARIANTS = {
    "CI": ("Ivory Coast", "Cote d'Ivoire", "Costa de Marfil"),
    "US": ("USA", "U.S.A.", "U.S.", "United States of America", "America", "Estados Unidos de América",
           "États-Unis d'Amérique"),
    "GB": ("UK", "U.K.", "Great Britain", "England", "Scotland", "Wales", "Northern Ireland", "Angleterre",
           "Inglaterra", "United Kingdom of Great Britain and Northern Ireland"),
    "VN": ("Viet Nam", "Vietnam"),
    "TR": ("Türkiye", "Turkey", "Turquía", "Turquie", "Turkiye"),
    "CZ": ("Czech Republic", "République tchèque", "República Checa"),
    "KR": ("South Korea", "Republic of Korea", "Korea, Republic of", "Corée du Sud", "Corea del Sur"),
    "KP": ("North Korea", "Corée du Nord", "Corea del Norte"),
    "RU": ("Russian Federation", "Fédération de Russie", "Federación de Rusia"),
    "IR": ("Iran, Islamic Republic of", "Islamic Republic of Iran"),
    "SY": ("Syrian Arab Republic",),
    "LA": ("Lao PDR", "Lao People's Democratic Republic", "Laos"),
    "BO": ("Bolivia, Plurinational State of", "Plurinational State of Bolivia"),
    "VE": ("Venezuela, Bolivarian Republic of", "Bolivarian Republic of Venezuela"),
    "TZ": ("Tanzania, United Republic of", "United Republic of Tanzania"),
    "MD": ("Moldova, Republic of", "Republic of Moldova"),
    "CD": ("DRC", "DR Congo", "Democratic Republic of the Congo", "RDC", "RD Congo", "Congo-Kinshasa"),
    "CG": ("Republic of the Congo", "Congo-Brazzaville"),
    "CV": ("Cape Verde", "Cabo Verde"),
    "SZ": ("Swaziland", "Eswatini"),
    "MK": ("Macedonia", "North Macedonia", "Macédoine"),
    "MM": ("Burma", "Myanmar"),
    "NL": ("Holland", "The Netherlands"),
    "PS": ("Palestine", "State of Palestine", "État de Palestine", "Estado de Palestina"),
    "TL": ("East Timor", "Timor-Leste"),
    "VA": ("Holy See", "Vatican", "Vatican City"),
    "FM": ("Micronesia, Federated States of", "Federated States of Micronesia"),
    "BS": ("The Bahamas",),
    "GM": ("The Gambia",),
    "AE": ("UAE", "EAU", "EAU (Émirats arabes unis)"),
    "CH": ("Suisse", "Suiza", "Schweiz", "Svizzera"),
}  # fmt: skip


def names_for(codes: list[str]) -> tuple[dict[str, list[str]], list[str]]:
    """Every code's names in English, French and Spanish (CLDR), its alpha-3 code and the variants above."""
    from babel import Locale
    from babel.core import get_global

    problems: list[str] = []
    locales = [Locale.parse(tag) for tag in ("en", "fr", "es")]
    alpha3: dict[str, str] = {}
    for alias, targets in get_global("territory_aliases").items():
        if len(alias) == 3 and alias.isalpha() and len(targets) == 1 and targets[0] in codes:
            alpha3.setdefault(targets[0], alias)
    names: dict[str, list[str]] = {}
    for code in codes:
        found: list[str] = []
        for locale in locales:
            for key in (code, f"{code}-alt-short", f"{code}-alt-variant"):
                name = locale.territories.get(key)
                if name and name not in found:
                    found.append(name)
        if code in alpha3:
            found.append(alpha3[code])
        elif code != "XK":
            problems.append(f"{code}: no alpha-3 code in CLDR's territory aliases")
        for name in NAME_VARIANTS.get(code, ()):
            if name not in found:
                found.append(name)
        if not found:
            problems.append(f"{code}: no CLDR name")
        names[code] = found
    if unknown := sorted(set(NAME_VARIANTS) - set(codes)):
        problems.append(f"NAME_VARIANTS names unknown codes: {' '.join(unknown)}")
    return names, problems


def names_source() -> str:
    import babel

    return f"names people write: CLDR via Babel {babel.__version__} (en, fr, es, alpha-3) and NAME_VARIANTS"


def add_names(document: dict[str, object]) -> list[str]:
    countries = document["countries"]
    assert isinstance(countries, dict)
    names, problems = names_for(sorted(countries))
    for code, entry in countries.items():
        entry["names"] = names[code]
    document["names_source"] = names_source()
    return problems


def source_line() -> str:
    import tzdata

    coco_version = importlib.metadata.version("country_converter")
    return (
        f"names and UN M49 sub-regions: country_converter {coco_version}; World Bank regions mapped from "
        f"UN M49 with overrides, and {INCOME_VINTAGE}, hand-maintained in tools/gen_countries.py; "
        f"time zones: tzdata {importlib.metadata.version('tzdata')} (IANA {tzdata.IANA_VERSION}) zone.tab "
        "with overrides for the most populous zone"
    )


def main() -> int:
    if sys.argv[1:] == ["--names"]:
        document = json.loads(OUT.read_text(encoding="utf-8"))
        problems = add_names(document)
        if problems:
            print("\n".join(problems), file=sys.stderr)
            return 1
        OUT.write_text(json.dumps(document, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        print(f"wrote the names of {len(document['countries'])} codes to {OUT}")
        return 0
    countries, problems = build()
    document = {"source": source_line(), "countries": countries}
    problems += add_names(document)
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(document, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")

    def having(field: str, value: str) -> list[str]:
        return [code for code, entry in countries.items() if entry[field] == value]

    print(f"wrote {len(countries)} codes to {OUT}")
    for group in (*INCOME_GROUPS, "unclassified"):
        print(f"  {group}: {len(having('income_group', group))}")
    print(f"  region unknown: {' '.join(having('region', 'unknown')) or '-'}")
    print(f"  income unclassified: {' '.join(having('income_group', 'unclassified'))}")
    print(f"  income from the economy that contains them: {' '.join(sorted(PART_OF))}")
    print(f"  north although unclassified: {' '.join(sorted(HIGH_INCOME_ELSEWHERE))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
