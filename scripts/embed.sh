#!/bin/sh
# embed.sh NAME [FILE-NAME] < FILE: FILE as a C string constant NAME, for
# the build. Backslashes, quotes and question marks (trigraphs) escaped.
set -eu
printf '/* generated from %s by scripts/embed.sh: do not edit */\n' "${2:-stdin}"
printf 'static const char %s[] =\n' "$1"
sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/?/\\?/g' -e 's/^/    "/' \
    -e 's/$/\\n"/'
printf '    ;\n'
