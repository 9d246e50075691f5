#!/usr/bin/env bash
# Take a screenshot of the real window under Xvfb (for the README).
# Needs Debian's xvfb, imagemagick, libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0.
# Usage: tools/screenshot.sh OUT.png [smtp-desktop arguments...]
#        tools/screenshot.sh OUT.png --scene   (demo mode after one "Send test email")
# SMTP_DESKTOP_COLOR_SCHEME=light|dark picks the scheme (Xvfb reports none).
# SCREEN=WxH sets the screen size (default 1200x900); the picture is then not trimmed.
set -euo pipefail
out=$1; shift
display=:$((90 + RANDOM % 9))
Xvfb "$display" -screen 0 "${SCREEN:-1200x900}x24" >/dev/null 2>&1 &
xvfb=$!
trap 'kill "$app" "$xvfb" 2>/dev/null || true' EXIT
for _ in $(seq 50); do DISPLAY=$display xdpyinfo >/dev/null 2>&1 && break; sleep 0.1; done
if [ "${1:-}" = "--scene" ]; then
  DISPLAY=$display QT_QPA_PLATFORM=xcb ${PYTHON:-python3} "$(dirname "$0")/demo_scene.py" &
else
  DISPLAY=$display QT_QPA_PLATFORM=xcb ${PYTHON:-python3} -m smtp_desktop "$@" &
fi
app=$!
sleep "${SCREENSHOT_DELAY:-4}"
DISPLAY=$display import -window root "$out"
if [ -z "${SCREEN:-}" ]; then
  convert "$out" -trim +repage "$out"  # the window, without the empty screen around it
fi
echo "saved $out"
