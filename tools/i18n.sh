#!/usr/bin/env bash
# Rebuild the gettext catalogues of the Jinja2 templates (pages and emails).
#
#   bash tools/i18n.sh                  # uses .venv/bin/pybabel
#   PYBABEL=pybabel bash tools/i18n.sh  # any other pybabel
#
# 1. extract every _("...") from templates/**.html and templates/**.txt (babel.cfg)
#    into chalicelib/locale/messages.pot;
# 2. merge the template into the fr and es catalogues (created if missing); strings that
#    changed come back fuzzy and new ones empty, and tests/unit/test_i18n.py fails until
#    they are translated in chalicelib/locale/<lang>/LC_MESSAGES/messages.po;
# 3. compile the .po files to .mo. The .mo files are committed (Chalice deploys from a
#    clean checkout with no build step), so commit them together with the .po files.
#
# The output is deterministic: running the script again on an unchanged tree changes nothing.
# That is why the template carries no location comments and no POT-Creation-Date (which would
# be "now" on every run), and why the .po files keep their own POT-Creation-Date
# (--ignore-pot-creation-date), set once when each catalogue was created.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYBABEL="${PYBABEL:-.venv/bin/pybabel}"
LOCALEDIR=chalicelib/locale
DOMAIN=messages
POT="$LOCALEDIR/$DOMAIN.pot"
LANGUAGES=(fr es)

mkdir -p "$LOCALEDIR"

"$PYBABEL" extract \
    --mapping-file=babel.cfg \
    --output-file="$POT" \
    --no-location \
    --project=event-feedback \
    --version=1 \
    --header-comment=$'# Translations template for event-feedback.\n# Strings of templates/ (pages, emails); rebuild with tools/i18n.sh.\n#' \
    .

# Drop the creation timestamp so that an unchanged set of templates gives a byte-identical template.
sed '/^"POT-Creation-Date: /d' "$POT" > "$POT.tmp"
mv "$POT.tmp" "$POT"

for lang in "${LANGUAGES[@]}"; do
    if [[ -f "$LOCALEDIR/$lang/LC_MESSAGES/$DOMAIN.po" ]]; then
        "$PYBABEL" update --input-file="$POT" --output-dir="$LOCALEDIR" --domain="$DOMAIN" \
            --locale="$lang" --ignore-pot-creation-date
    else
        "$PYBABEL" init --input-file="$POT" --output-dir="$LOCALEDIR" --domain="$DOMAIN" --locale="$lang"
    fi
done

"$PYBABEL" compile --directory="$LOCALEDIR" --domain="$DOMAIN" --statistics
