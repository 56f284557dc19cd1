#!/bin/sh
# Put Dedupe in the desktop's application menu for the current user, with its icon and
# AppStream data (or take it out again). Nothing outside $XDG_DATA_HOME is touched.
#
#   dist/dedupe-gui/install-desktop-entry.sh       # the bundle: the menu runs this bundle
#   packaging/install-desktop-entry.sh             # a checkout: runs `dedupe-gui` from PATH
#                                                  #   (e.g. after `pipx install .`)
#   ... install-desktop-entry.sh --uninstall
set -eu

APP_ID=io.github.dedupe_gui.DedupeGui
SIZES="16 24 32 48 64 128 256 512"
here=$(cd "$(dirname "$0")" && pwd)
data=${XDG_DATA_HOME:-$HOME/.local/share}

die() { echo "install-desktop-entry: $*" >&2; exit 1; }

desktop_file=$data/applications/$APP_ID.desktop
metainfo_file=$data/metainfo/$APP_ID.metainfo.xml

refresh() {  # optional caches; menus also notice the files without them
    command -v update-desktop-database >/dev/null 2>&1 &&
        update-desktop-database -q "$data/applications" 2>/dev/null || true
    command -v gtk-update-icon-cache >/dev/null 2>&1 && [ -f "$data/icons/hicolor/index.theme" ] &&
        gtk-update-icon-cache -q -t "$data/icons/hicolor" 2>/dev/null || true
}

if [ "${1:-}" = "--uninstall" ]; then
    rm -f "$desktop_file" "$metainfo_file" "$data/icons/hicolor/scalable/apps/$APP_ID.svg"
    for s in $SIZES; do rm -f "$data/icons/hicolor/${s}x${s}/apps/$APP_ID.png"; done
    refresh
    echo "removed $APP_ID from $data"
    exit 0
fi
[ $# -eq 0 ] || die "usage: $0 [--uninstall]"

if [ -f "$here/_internal/share/$APP_ID.desktop" ]; then      # inside the bundle
    res=$here/_internal/share
    icons=$here/_internal/dedupe_gui/resources/icons
elif [ -f "$here/../resources/$APP_ID.desktop" ]; then       # a source checkout
    res=$here/../resources
    icons=$here/../dedupe_gui/resources/icons
else
    die "cannot find $APP_ID.desktop next to $here"
fi

if [ -x "$here/dedupe-gui" ]; then
    program=$here/dedupe-gui
else
    program=$(command -v dedupe-gui) || die "dedupe-gui is not on PATH (pipx install . first)"
fi
# Desktop Entry quoting: wrap in double quotes, backslash-escape " ` $ and \ inside
quoted=$(printf '%s' "$program" | sed 's/[\\"`$]/\\&/g')

mkdir -p "$data/applications" "$data/metainfo" "$data/icons/hicolor/scalable/apps"
sed -e "s|^Exec=dedupe-gui |Exec=\"$(printf '%s' "$quoted" | sed 's/[|&\\]/\\&/g')\" |" \
    -e "s|^TryExec=.*|TryExec=$(printf '%s' "$program" | sed 's/[|&\\]/\\&/g')|" \
    "$res/$APP_ID.desktop" > "$desktop_file.tmp"
mv "$desktop_file.tmp" "$desktop_file"
cp "$res/$APP_ID.metainfo.xml" "$metainfo_file"
cp "$res/$APP_ID.svg" "$data/icons/hicolor/scalable/apps/$APP_ID.svg"
for s in $SIZES; do
    mkdir -p "$data/icons/hicolor/${s}x${s}/apps"
    cp "$icons/dedupe-gui-$s.png" "$data/icons/hicolor/${s}x${s}/apps/$APP_ID.png"
done
refresh
echo "installed $APP_ID in $data (runs $program)"
